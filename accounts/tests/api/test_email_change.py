"""Email change (contract v1.1, changes v1): a new address only becomes
pending; the new mailbox confirms it, the old one may cancel it; confirming
switches, verifies and signs every session out."""

from datetime import timedelta

import pytest
import time_machine
from rest_framework.test import APIClient

from accounts import emails, services
from accounts.models import Authenticator, AuthEvent, User
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.helpers import (
    CANCEL_EMAIL,
    CONFIRM_EMAIL,
    FORGOT,
    ME,
    PENDING_EMAIL,
    RESEND,
    SIGNIN,
    SIGNOUT_ALL,
    attempt_sign_in,
    bearer_client,
    email_change_token,
    fresh_proof,
    signed_in,
    stale_by,
)
from accounts.tokens import email_change_cancel_token

pytestmark = pytest.mark.django_db

NEW = "new@example.com"
INVALID = {"detail": "Invalid or expired token"}
START = "2030-01-01 12:00:00Z"


def ask(client, email=NEW):
    return client.patch(ME, {"email": email}, format="json")


def confirm(token):
    return APIClient().post(CONFIRM_EMAIL, {"token": token}, format="json")


def cancel(token):
    return APIClient().post(CANCEL_EMAIL, {"token": token}, format="json")


def test_patch_with_a_new_email_answers_the_unchanged_user_with_pending_email(user):
    client, _ = signed_in(user)

    response = ask(client)

    assert response.status_code == 200
    assert response.json()["email"] == user.email
    assert response.json()["pending_email"] == NEW
    assert client.get(ME).json()["pending_email"] == NEW
    assert AuthEvent.objects.filter(
        user=user, type=AuthEvent.Type.EMAIL_CHANGE_REQUESTED
    ).exists()


def test_get_me_shows_no_pending_email_as_null(auth_api_client):
    assert auth_api_client.get(ME).json()["pending_email"] is None


def test_the_new_address_gets_a_link_and_the_old_one_a_cancel_link(user, mailoutbox):
    client, _ = signed_in(user)

    ask(client)

    assert email_change_token(mailoutbox, "confirm", to=NEW)
    assert email_change_token(mailoutbox, "cancel", to=user.email)


def test_an_email_change_with_a_stale_sign_in_is_refused(user, mailoutbox):
    with time_machine.travel(START, tick=False) as clock:
        client, _ = signed_in(user)
        clock.shift(timedelta(seconds=stale_by()))

        response = client.patch(
            ME, {"email": NEW, "first_name": "Augusta"}, format="json"
        )

    assert response.status_code == 403
    assert response.json()["code"] == "reauthentication_required"
    fresh = User.objects.get(pk=user.pk)
    assert fresh.pending_email == "" and fresh.first_name != "Augusta"
    assert mailoutbox == []


def test_confirming_switches_verifies_and_kills_every_old_session(user, mailoutbox):
    client, tokens = signed_in(user)
    other, _ = signed_in(user)
    old = user.email
    ask(client)

    response = confirm(email_change_token(mailoutbox, "confirm"))

    assert response.status_code == 200
    assert response.json()["email"] == NEW
    assert response.json()["email_verified"] is True
    assert response.json()["pending_email"] is None
    assert client.get(ME).status_code == 401
    assert other.get(ME).status_code == 401
    refreshed = APIClient().post(
        "/api/v1/auth/token/refresh",
        {"refresh_token": tokens["refresh_token"]},
        format="json",
    )
    assert refreshed.status_code == 401
    assert attempt_sign_in(NEW, PASSWORD).status_code == 200
    assert attempt_sign_in(old, PASSWORD).status_code == 401
    assert mailoutbox[-1].to == [old]  # the email_changed notice


def test_a_confirm_token_works_once(user, mailoutbox):
    client, _ = signed_in(user)
    ask(client)
    token = email_change_token(mailoutbox, "confirm")
    confirm(token)

    again = confirm(token)

    assert again.status_code == 400
    assert again.json() == INVALID


def test_cancel_from_the_old_address_withdraws_the_change(user, mailoutbox):
    client, _ = signed_in(user)
    ask(client)
    confirm_token = email_change_token(mailoutbox, "confirm")

    response = cancel(email_change_token(mailoutbox, "cancel"))

    assert response.status_code == 200
    assert client.get(ME).json()["pending_email"] is None
    assert confirm(confirm_token).status_code == 400
    assert User.objects.get(pk=user.pk).email == user.email
    assert AuthEvent.objects.filter(
        user=user, type=AuthEvent.Type.EMAIL_CHANGE_CANCELLED
    ).exists()


def test_cancel_after_the_change_was_confirmed_is_400_and_reverts_nothing(
    user, mailoutbox
):
    client, _ = signed_in(user)
    ask(client)
    cancel_token = email_change_token(mailoutbox, "cancel")
    confirm(email_change_token(mailoutbox, "confirm"))

    response = cancel(cancel_token)

    assert response.status_code == 400
    assert response.json() == INVALID
    assert User.objects.get(pk=user.pk).email == NEW


def test_a_cancel_token_never_confirms_and_a_confirm_token_never_cancels(
    user, mailoutbox
):
    client, _ = signed_in(user)
    ask(client)

    assert confirm(email_change_token(mailoutbox, "cancel")).status_code == 400
    assert cancel(email_change_token(mailoutbox, "confirm")).status_code == 400
    assert User.objects.get(pk=user.pk).pending_email == NEW


def test_a_change_asked_for_at_level_2_cannot_be_cancelled_by_mail(user, mailoutbox):
    client, _ = signed_in(user)
    ask(client)
    # What a session that proved a second factor records.
    User.objects.filter(pk=user.pk).update(pending_email_aal=2)
    user.refresh_from_db()
    mailoutbox.clear()
    emails.send_email_change_requested(user)
    (notice,) = mailoutbox

    assert "cannot be cancelled from this email" in notice.body
    assert "/accounts/security/" in notice.body
    assert "/accounts/email/cancel/" not in notice.body
    forged = email_change_cancel_token.make_token(user)
    assert cancel(forged).status_code == 400
    assert User.objects.get(pk=user.pk).pending_email == NEW


def test_the_owner_withdraws_a_pending_change_with_delete(user, mailoutbox):
    client, _ = signed_in(user)
    ask(client)
    token = email_change_token(mailoutbox, "confirm")

    response = client.delete(PENDING_EMAIL)

    assert response.status_code == 204
    assert client.get(ME).json()["pending_email"] is None
    assert confirm(token).status_code == 400


def test_withdrawing_needs_no_recent_sign_in(user, mailoutbox):
    with time_machine.travel(START, tick=False) as clock:
        client, _ = signed_in(user)
        ask(client)
        clock.shift(timedelta(seconds=stale_by()))

        response = client.delete(PENDING_EMAIL)

    assert response.status_code == 204
    assert User.objects.get(pk=user.pk).pending_email == ""


def test_a_replaced_change_kills_the_old_tokens(user, mailoutbox):
    client, _ = signed_in(user)
    ask(client)
    first_confirm = email_change_token(mailoutbox, "confirm")
    first_cancel = email_change_token(mailoutbox, "cancel")

    ask(client, "newer@example.com")

    assert confirm(first_confirm).status_code == 400
    assert cancel(first_cancel).status_code == 400
    second = confirm(email_change_token(mailoutbox, "confirm", to="newer@example.com"))
    assert second.status_code == 200
    assert second.json()["email"] == "newer@example.com"


def test_asking_again_for_the_same_address_also_replaces_the_tokens(user, mailoutbox):
    client, _ = signed_in(user)
    ask(client)
    first = email_change_token(mailoutbox, "confirm")

    ask(client)

    assert confirm(first).status_code == 400


def test_an_expired_change_is_refused_and_no_longer_shown(user, mailoutbox, settings):
    settings.EMAIL_CHANGE_TIMEOUT = 600
    with time_machine.travel(START, tick=False) as clock:
        client, tokens = signed_in(user)
        ask(client)
        token = email_change_token(mailoutbox, "confirm")
        clock.shift(timedelta(seconds=601))

        response = confirm(token)
        shown = bearer_client(tokens["access_token"]).get(ME)

    assert response.status_code == 400
    assert response.json() == INVALID
    assert shown.json()["pending_email"] is None
    assert User.objects.get(pk=user.pk).email == user.email


def test_a_token_generation_bump_kills_the_tokens(user, mailoutbox):
    client, _ = signed_in(user)
    ask(client)
    confirm_token = email_change_token(mailoutbox, "confirm")
    cancel_token = email_change_token(mailoutbox, "cancel")

    client.post(SIGNOUT_ALL)

    assert confirm(confirm_token).status_code == 400
    assert cancel(cancel_token).status_code == 400


def test_removing_a_factor_kills_the_tokens(user, mailoutbox):
    Authenticator.objects.create(user=user, kind="totp", secret="x")
    # Asked for from a session that proved both factors.
    services.request_email_change(
        user=user, email=NEW, assurance=fresh_proof().then("otp")
    )
    token = email_change_token(mailoutbox, "confirm")

    user.authenticators.all().delete()

    assert confirm(token).status_code == 400


def test_adding_a_factor_leaves_the_tokens_alive(user, mailoutbox):
    client, _ = signed_in(user)
    ask(client)
    token = email_change_token(mailoutbox, "confirm")

    Authenticator.objects.create(user=user, kind="totp", secret="x")

    assert confirm(token).status_code == 200


def test_two_accounts_asking_for_one_address_only_the_first_confirmation_wins(
    mailoutbox,
):
    ada, grace = UserFactory(), UserFactory()
    ada_client, _ = signed_in(ada)
    grace_client, _ = signed_in(grace)
    ask(ada_client)
    ada_token = email_change_token(mailoutbox, "confirm", to=NEW)
    ask(grace_client)
    grace_token = email_change_token(mailoutbox, "confirm", to=NEW)

    first = confirm(ada_token)
    second = confirm(grace_token)

    assert first.status_code == 200
    assert second.status_code == 400
    assert list(second.json()) == ["email"]
    assert User.objects.get(pk=grace.pk).email == grace.email


def test_a_taken_address_gets_a_notice_instead_of_a_link(user, mailoutbox):
    UserFactory(email=NEW)
    client, _ = signed_in(user)

    response = ask(client)

    assert response.status_code == 200
    (notice,) = [m for m in mailoutbox if m.to == [NEW]]
    assert "already belongs to another" in notice.body
    assert "/accounts/email/confirm/" not in notice.body


def test_a_pending_address_matches_no_sign_in_reset_or_resend(user, mailoutbox):
    client, _ = signed_in(user)
    ask(client)
    mailoutbox.clear()
    anonymous = APIClient()

    assert attempt_sign_in(NEW, PASSWORD).status_code == 401
    anonymous.post(FORGOT, {"email": NEW}, format="json")
    anonymous.post(RESEND, {"email": NEW}, format="json")

    assert mailoutbox == []


def test_a_pending_address_is_not_reserved(user, mailoutbox):
    client, _ = signed_in(user)
    ask(client)

    response = APIClient().post(
        "/api/v1/auth/signup",
        {"email": NEW, "username": "grace", "password": PASSWORD},
        format="json",
    )

    assert response.status_code == 201
    assert confirm(email_change_token(mailoutbox, "confirm")).status_code == 400


@pytest.mark.parametrize("token", ["", "nonsense", "a.b", "x" * 300, "Zm9v.abc"])
def test_malformed_tokens_are_invalid(token, db):
    response = confirm(token)

    assert response.status_code == 400


def test_confirm_and_cancel_are_limited_per_address(settings, user):
    settings.THROTTLE_RATES = "link=3/min"
    answers = [confirm(f"guess.{i}").status_code for i in range(4)]

    assert answers[:3] == [400, 400, 400]
    assert answers[3] == 429


def test_confirm_with_frontend_url_links_to_the_spa(user, mailoutbox, settings):
    settings.FRONTEND_URL = "https://app.example.com"
    client, _ = signed_in(user)

    ask(client)

    (message,) = [m for m in mailoutbox if m.to == [NEW]]
    assert "https://app.example.com/confirm-email/" in message.body


def test_sign_in_by_old_address_still_works_while_pending(user):
    client, _ = signed_in(user)
    ask(client)

    assert (
        APIClient()
        .post(SIGNIN, {"email": user.email, "password": PASSWORD}, format="json")
        .status_code
        == 200
    )
