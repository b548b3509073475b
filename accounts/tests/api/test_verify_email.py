"""Email verification: the welcome link, POST /api/v1/auth/verify-email, the
resend endpoint, mandatory mode, and a changed address."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import AuthEvent, User
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import (
    CONFIRM_EMAIL,
    ME,
    REFRESH,
    RESEND,
    SIGNIN,
    SIGNUP,
    VERIFY,
    attempt_sign_in,
    bearer_client,
    email_change_token,
    find_link,
    sign_in,
)

pytestmark = pytest.mark.django_db

INVALID = {"detail": "Invalid or expired token"}


def verify(api_client, uid, token):
    return api_client.post(VERIFY, {"uid": uid, "token": token}, format="json")


def sign_up(api_client, password, email="grace@example.com"):
    return api_client.post(
        SIGNUP,
        {"email": email, "username": "grace", "password": password},
        format="json",
    )


@pytest.fixture
def unverified(db):
    return UserFactory(email_verified=False)


@pytest.fixture
def verification_link(api_client, unverified, mailoutbox):
    """The uid and token of a verification link emailed to `unverified`."""
    api_client.post(RESEND, {"email": unverified.email}, format="json")
    (message,) = mailoutbox
    mailoutbox.clear()
    _, uid, token = find_link(message, "verify-email")
    return uid, token


# ---------------------------------------------------------------------------
# The welcome email
# ---------------------------------------------------------------------------
def test_welcome_email_carries_a_verification_link(
    api_client, password, mailoutbox, settings
):
    response = sign_up(api_client, password)

    assert response.status_code == 201
    (message,) = mailoutbox
    assert message.to == ["grace@example.com"]
    link, _, _ = find_link(message, "verify-email")
    assert link.startswith(settings.SITE_URL + "/accounts/verify-email/")
    assert link in message.alternatives[0][0]


def test_welcome_email_has_no_link_when_verification_is_off(
    api_client, password, mailoutbox, settings
):
    settings.EMAIL_VERIFICATION = "none"

    sign_up(api_client, password)

    (message,) = mailoutbox
    assert find_link(message, "verify-email") is None
    assert "verify-email" not in message.alternatives[0][0]


def test_verification_link_points_to_the_frontend_when_configured(
    api_client, password, mailoutbox, settings
):
    settings.FRONTEND_URL = "https://app.example.org"

    sign_up(api_client, password)

    link, uid, token = find_link(mailoutbox[0], "verify-email")
    assert link == f"https://app.example.org/verify-email/{uid}/{token}"


# ---------------------------------------------------------------------------
# verify-email
# ---------------------------------------------------------------------------
def test_verification_link_marks_the_address_verified(api_client, password, mailoutbox):
    sign_up(api_client, password)
    _, uid, token = find_link(mailoutbox[0], "verify-email")

    response = verify(api_client, uid, token)

    assert response.status_code == 200
    assert User.objects.get(email="grace@example.com").email_verified is True


def test_the_first_proof_of_the_mailbox_signs_out_whoever_registered_it_first(
    api_client, unverified, verification_link
):
    squatter = sign_in(unverified)

    verified = verify(api_client, *verification_link)
    after = bearer_client(squatter["access_token"]).get(ME)
    refreshed = APIClient().post(
        REFRESH, {"refresh_token": squatter["refresh_token"]}, format="json"
    )

    assert verified.status_code == 200
    assert after.status_code == 401
    assert refreshed.status_code == 401


def test_a_used_verification_link_signs_nobody_out_again(
    api_client, unverified, verification_link
):
    verify(api_client, *verification_link)
    session = sign_in(unverified)

    second = verify(api_client, *verification_link)

    assert second.status_code == 400
    assert bearer_client(session["access_token"]).get(ME).status_code == 200


def test_verification_link_works_only_once(api_client, unverified, verification_link):
    verify(api_client, *verification_link)

    response = verify(api_client, *verification_link)

    assert response.status_code == 400
    assert response.json() == INVALID


def test_verification_link_is_refused_after_the_timeout(
    api_client, unverified, verification_link, settings, time_machine
):
    time_machine.move_to(
        timezone.now() + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 1)
    )

    response = verify(api_client, *verification_link)

    assert response.status_code == 400
    assert response.json() == INVALID
    unverified.refresh_from_db()
    assert unverified.email_verified is False


def test_verification_refuses_a_tampered_token(
    api_client, unverified, verification_link
):
    uid, token = verification_link
    tampered = token[:-1] + ("0" if token[-1] != "0" else "1")

    response = verify(api_client, uid, tampered)

    assert response.status_code == 400
    assert response.json() == INVALID
    unverified.refresh_from_db()
    assert unverified.email_verified is False


# ---------------------------------------------------------------------------
# Mandatory verification
# ---------------------------------------------------------------------------
def test_mandatory_signup_withholds_tokens_until_verified(
    api_client, password, settings
):
    settings.EMAIL_VERIFICATION = "mandatory"

    response = sign_up(api_client, password)

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"detail", "user"}
    assert body["user"]["email"] == "grace@example.com"
    assert body["user"]["email_verified"] is False


def test_mandatory_signin_is_refused_until_the_address_is_verified(
    api_client, password, mailoutbox, settings
):
    settings.EMAIL_VERIFICATION = "mandatory"
    sign_up(api_client, password)

    refused = attempt_sign_in("grace@example.com", password, client=api_client)

    assert refused.status_code == 403
    assert refused.json() == {"detail": "Email address not verified"}
    assert "Before you can sign in" in mailoutbox[0].body


def test_mandatory_signin_works_once_verified(
    api_client, password, mailoutbox, settings
):
    settings.EMAIL_VERIFICATION = "mandatory"
    sign_up(api_client, password)
    _, uid, token = find_link(mailoutbox[0], "verify-email")

    verify(api_client, uid, token)
    response = attempt_sign_in("grace@example.com", password, client=api_client)

    assert response.status_code == 200
    assert "access_token" in response.json()


# ---------------------------------------------------------------------------
# resend
# ---------------------------------------------------------------------------
def test_resend_answers_the_same_and_writes_only_to_unverified_accounts(
    api_client, unverified, mailoutbox
):
    verified = UserFactory(email_verified=True)
    inactive = UserFactory(email_verified=False, is_active=False)
    addresses = [
        unverified.email,
        verified.email,
        inactive.email,
        "nobody@example.com",
    ]

    responses = [
        api_client.post(RESEND, {"email": address}, format="json")
        for address in addresses
    ]

    assert {response.status_code for response in responses} == {200}
    assert len({response.content for response in responses}) == 1
    assert [message.to for message in mailoutbox] == [[unverified.email]]
    assert find_link(mailoutbox[0], "verify-email") is not None


def test_resend_finds_the_address_ignoring_case(api_client, unverified, mailoutbox):
    api_client.post(RESEND, {"email": unverified.email.upper()}, format="json")

    assert [message.to for message in mailoutbox] == [[unverified.email]]


def test_resend_refuses_a_malformed_address(api_client, mailoutbox):
    response = api_client.post(RESEND, {"email": "not-an-address"}, format="json")

    assert response.status_code == 400
    assert "email" in response.json()
    assert mailoutbox == []


# ---------------------------------------------------------------------------
# Changing the address
# ---------------------------------------------------------------------------
def test_changing_email_asks_the_new_address_and_tells_the_old_one(
    auth_api_client, user, mailoutbox
):
    # Changes v1: the new address gets a confirmation link, not a
    # verification link; the account keeps its verified address meanwhile.
    old_email = user.email

    response = auth_api_client.patch(ME, {"email": "new@example.com"}, format="json")

    assert response.status_code == 200
    assert response.json()["email_verified"] is True
    by_address = {message.to[0]: message for message in mailoutbox}
    assert set(by_address) == {"new@example.com", old_email}
    assert "/accounts/email/confirm/" in by_address["new@example.com"].body
    notice = by_address[old_email]
    assert find_link(notice, "verify-email") is None
    assert "new@example.com" in notice.body
    assert "new@example.com" in notice.alternatives[0][0]


def test_confirming_the_new_address_marks_it_verified(
    api_client, auth_api_client, user, mailoutbox
):
    User.objects.filter(pk=user.pk).update(email_verified=False)
    auth_api_client.patch(ME, {"email": "new@example.com"}, format="json")

    response = api_client.post(
        CONFIRM_EMAIL,
        {"token": email_change_token(mailoutbox, "confirm")},
        format="json",
    )

    assert response.status_code == 200
    user.refresh_from_db()
    assert (user.email, user.email_verified) == ("new@example.com", True)


def test_old_verification_link_dies_when_the_address_changes(
    api_client, unverified, verification_link, password
):
    signed_in = api_client.post(
        SIGNIN, {"email": unverified.email, "password": password}, format="json"
    )
    api_client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {signed_in.json()['access_token']}"
    )
    api_client.patch(ME, {"email": "elsewhere@example.com"}, format="json")
    APIClient().post(
        CONFIRM_EMAIL,
        {"token": email_change_token(mail.outbox, "confirm")},
        format="json",
    )

    response = verify(api_client, *verification_link)

    assert response.status_code == 400
    assert response.json() == INVALID
    unverified.refresh_from_db()
    assert unverified.email == "elsewhere@example.com"
    assert not AuthEvent.objects.filter(
        user=unverified, type=AuthEvent.Type.EMAIL_VERIFIED
    ).exists()
