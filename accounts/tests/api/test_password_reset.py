"""POST /api/v1/auth/forgot-password and /api/v1/auth/reset-password, end to end
through the emailed link."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import User
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import (
    FORGOT,
    ME,
    REFRESH,
    RESEND,
    RESET,
    VERIFY,
    attempt_sign_in,
    emailed_link,
)

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a brand new passphrase"
INVALID = {"detail": "Invalid or expired token"}


def uid_of(user) -> str:
    return urlsafe_base64_encode(force_bytes(user.pk))


def reset_parts(message) -> tuple[str, str]:
    _, uid, token = emailed_link(message, "password/reset")
    return uid, token


def forgot(api_client, email, **extra):
    return api_client.post(FORGOT, {"email": email}, format="json", **extra)


def reset(api_client, uid, token, new_password=NEW_PASSWORD):
    return api_client.post(
        RESET,
        {"uid": uid, "token": token, "new_password": new_password},
        format="json",
    )


@pytest.fixture
def reset_link(api_client, user, mailoutbox):
    """The uid and token of a reset link emailed to `user`."""
    forgot(api_client, user.email)
    (message,) = mailoutbox
    mailoutbox.clear()
    return reset_parts(message)


# ---------------------------------------------------------------------------
# forgot-password
# ---------------------------------------------------------------------------
def test_forgot_password_answers_the_same_whatever_the_account(api_client, mailoutbox):
    active = UserFactory()
    inactive = UserFactory(is_active=False)
    deleted = UserFactory(is_active=False, deleted_at=timezone.now())
    addresses = [active.email, inactive.email, deleted.email, "nobody@example.com"]

    responses = [forgot(api_client, address) for address in addresses]

    assert {response.status_code for response in responses} == {200}
    assert len({response.content for response in responses}) == 1
    assert [message.to for message in mailoutbox] == [[active.email]]


def test_forgot_password_finds_the_address_ignoring_case(api_client, user, mailoutbox):
    response = forgot(api_client, user.email.upper())

    assert response.status_code == 200
    assert [message.to for message in mailoutbox] == [[user.email]]


def test_forgot_password_refuses_a_malformed_address(api_client, user, mailoutbox):
    response = forgot(api_client, "not-an-address")

    assert response.status_code == 400
    assert "email" in response.json()
    assert mailoutbox == []


def test_reset_email_links_to_the_configured_site_not_the_request_host(
    api_client, user, mailoutbox, settings
):
    # Host-header poisoning: a forged Host must not become the link's origin.
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver", "evil.example"]

    response = forgot(api_client, user.email, HTTP_HOST="evil.example")

    assert response.status_code == 200
    (message,) = mailoutbox
    link, _, _ = emailed_link(message, "password/reset")
    assert link.startswith(settings.SITE_URL + "/accounts/password/reset/")
    assert "evil.example" not in message.body
    assert "evil.example" not in message.alternatives[0][0]


def test_reset_email_links_to_the_frontend_when_configured(
    api_client, user, mailoutbox, settings
):
    settings.FRONTEND_URL = "https://app.example.org"

    forgot(api_client, user.email)

    link, uid, token = emailed_link(mailoutbox[0], "reset-password")
    assert link == f"https://app.example.org/reset-password/{uid}/{token}"
    assert reset(api_client, uid, token).status_code == 200


# ---------------------------------------------------------------------------
# reset-password
# ---------------------------------------------------------------------------
def test_reset_link_sets_a_password_that_signs_in(
    api_client, user, password, reset_link
):
    response = reset(api_client, *reset_link)

    assert response.status_code == 200
    assert response.json() == {"detail": "Password reset successfully"}
    assert (
        attempt_sign_in(user.email, NEW_PASSWORD, client=api_client).status_code == 200
    )
    assert attempt_sign_in(user.email, password, client=api_client).status_code == 401


def test_reset_link_is_refused_the_second_time(api_client, user, reset_link):
    reset(api_client, *reset_link)

    response = reset(api_client, *reset_link, new_password="yet another passphrase")

    assert response.status_code == 400
    assert response.json() == INVALID
    assert (
        attempt_sign_in(user.email, NEW_PASSWORD, client=api_client).status_code == 200
    )


def test_reset_link_still_works_just_before_it_expires(
    api_client, reset_link, settings, time_machine
):
    time_machine.move_to(
        timezone.now() + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT - 60)
    )

    response = reset(api_client, *reset_link)

    assert response.status_code == 200


def test_reset_link_is_refused_after_the_reset_timeout(
    api_client, user, password, reset_link, settings, time_machine
):
    time_machine.move_to(
        timezone.now() + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 1)
    )

    response = reset(api_client, *reset_link)

    assert response.status_code == 400
    assert response.json() == INVALID
    assert attempt_sign_in(user.email, password, client=api_client).status_code == 200


def test_reset_refuses_a_tampered_token(api_client, user, password, reset_link):
    uid, token = reset_link
    tampered = token[:-1] + ("0" if token[-1] != "0" else "1")

    response = reset(api_client, uid, tampered)

    assert response.status_code == 400
    assert response.json() == INVALID
    assert attempt_sign_in(user.email, password, client=api_client).status_code == 200


def test_reset_refuses_a_token_with_another_users_uid(
    api_client, user, password, reset_link
):
    other = UserFactory()
    _, token = reset_link

    response = reset(api_client, uid_of(other), token)

    assert response.status_code == 400
    assert response.json() == INVALID
    assert attempt_sign_in(other.email, password, client=api_client).status_code == 200


def test_reset_refuses_a_malformed_uid(api_client, reset_link):
    _, token = reset_link

    response = reset(api_client, "!!not-base64!!", token)

    assert response.status_code == 400
    assert response.json() == INVALID


def test_reset_refuses_a_weak_password_and_changes_nothing(
    api_client, user, password, reset_link, mailoutbox
):
    generation = user.token_generation

    response = reset(api_client, *reset_link, new_password="123")

    assert response.status_code == 400
    assert "new_password" in response.json()
    user.refresh_from_db()
    assert user.check_password(password)
    assert user.token_generation == generation
    assert mailoutbox == []
    assert reset(api_client, *reset_link).status_code == 200


def test_reset_revokes_every_earlier_access_and_refresh_token(
    api_client, auth_api_client, tokens, reset_link
):
    assert auth_api_client.get(ME).status_code == 200

    reset(api_client, *reset_link)

    assert auth_api_client.get(ME).status_code == 401
    refreshed = api_client.post(
        REFRESH, {"refresh_token": tokens["refresh_token"]}, format="json"
    )
    assert refreshed.status_code == 401


def test_reset_emails_a_password_changed_notice(
    api_client, user, reset_link, mailoutbox
):
    reset(api_client, *reset_link)

    (notice,) = mailoutbox
    assert notice.to == [user.email]
    assert "password was changed" in notice.subject
    assert "/accounts/password/forgot/" in notice.body
    assert "/accounts/password/reset/" not in notice.body


def test_reset_marks_the_address_verified(api_client, mailoutbox):
    user = UserFactory(email_verified=False)
    forgot(api_client, user.email)

    reset(api_client, *reset_parts(mailoutbox[0]))

    user.refresh_from_db()
    assert user.email_verified is True


def test_reset_token_is_refused_as_a_verification_token(api_client, mailoutbox):
    user = UserFactory(email_verified=False)
    forgot(api_client, user.email)
    uid, token = reset_parts(mailoutbox[0])

    response = api_client.post(VERIFY, {"uid": uid, "token": token}, format="json")

    assert response.status_code == 400
    assert response.json() == INVALID
    user.refresh_from_db()
    assert user.email_verified is False


def test_verification_token_is_refused_as_a_reset_token(
    api_client, password, mailoutbox
):
    user = UserFactory(email_verified=False)
    api_client.post(RESEND, {"email": user.email}, format="json")
    _, uid, token = emailed_link(mailoutbox[0], "verify-email")

    response = reset(api_client, uid, token)

    assert response.status_code == 400
    assert response.json() == INVALID
    user.refresh_from_db()
    assert user.check_password(password)


@pytest.mark.parametrize("kind", ["access_token", "refresh_token"])
def test_bearer_token_is_refused_as_a_reset_token(
    api_client, user, password, tokens, kind
):
    response = reset(api_client, uid_of(user), tokens[kind])

    assert response.status_code == 400
    user.refresh_from_db()
    assert user.check_password(password)


def test_reset_link_dies_when_the_password_changes_another_way(
    api_client, auth_api_client, password, reset_link
):
    auth_api_client.post(
        "/api/v1/auth/change-password",
        {"old_password": password, "new_password": "changed the usual way"},
        format="json",
    )

    response = reset(api_client, *reset_link)

    assert response.status_code == 400
    assert response.json() == INVALID


def test_reset_link_of_a_since_deactivated_account_is_refused(
    api_client, user, reset_link
):
    User.objects.filter(pk=user.pk).update(is_active=False)

    response = reset(api_client, *reset_link)

    assert response.status_code == 400
    assert response.json() == INVALID
