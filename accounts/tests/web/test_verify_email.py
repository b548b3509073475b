import pytest
from django.conf import settings
from django.contrib.sessions.models import Session

from accounts.models import User
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import (
    ME,
    bearer_client,
    browser_signed_in,
    emailed_path,
    messages_of,
    sign_in,
)

PASSWORD = "a new and long enough passphrase"


@pytest.fixture
def unverified(db):
    return UserFactory(email_verified=False)


@pytest.fixture
def verify_path(client, unverified, mailoutbox):
    client.post("/accounts/verify-email/resend/", {"email": unverified.email})
    return emailed_path(mailoutbox[-1])


def test_opening_the_link_only_shows_a_confirm_button(client, unverified, verify_path):
    token = verify_path.rstrip("/").rsplit("/", 1)[1]

    response = client.get(verify_path, follow=True)

    unverified.refresh_from_db()
    assert response.status_code == 200
    assert response.redirect_chain[-1][0].endswith("/confirm/")
    assert token.encode() not in response.content
    assert b"Confirm my email address" in response.content
    assert not unverified.email_verified


def test_confirming_verifies_the_address(client, unverified, verify_path):
    confirm_url = client.get(verify_path)["Location"]

    response = client.post(confirm_url)

    unverified.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == "/accounts/signin/"
    assert unverified.email_verified
    assert messages_of(response) == ["Your email address is verified."]


def test_confirming_twice_shows_the_invalid_link_page(client, unverified, verify_path):
    client.post(verify_path)

    response = client.post(verify_path)

    assert response.status_code == 200
    assert b"Invalid or expired link" in response.content


def test_confirm_page_without_the_token_in_the_session_shows_the_invalid_link_page(
    client, unverified, verify_path
):
    uidb64 = verify_path.split("/")[3]

    response = client.get(f"/accounts/verify-email/{uidb64}/confirm/")

    assert b"Invalid or expired link" in response.content
    assert b"Confirm my email address" not in response.content


def test_confirming_a_forged_link_verifies_nothing(client, unverified):
    response = client.post("/accounts/verify-email/bm9wZQ/abc-def/")

    unverified.refresh_from_db()
    assert b"Invalid or expired link" in response.content
    assert not unverified.email_verified


@pytest.mark.parametrize("garbage", [False, True])
def test_opening_a_link_anonymously_creates_no_database_session(
    client, unverified, verify_path, garbage
):
    # Every anonymous GET writing a session row would let anyone fill the
    # session table with forged links.
    if garbage:
        verify_path = "/accounts/verify-email/bm9wZQ/abc-def/"
    before = Session.objects.count()

    client.get(verify_path, follow=True)

    assert Session.objects.count() == before
    assert settings.SESSION_COOKIE_NAME not in client.cookies


def test_the_link_token_is_kept_in_a_cookie_scoped_to_the_link(
    client, unverified, verify_path
):
    token = verify_path.rstrip("/").rsplit("/", 1)[1]
    uidb64 = verify_path.split("/")[3]

    response = client.get(verify_path)

    cookie = response.cookies["verify_email_token"]
    assert token in cookie.value
    assert cookie["path"] == f"/accounts/verify-email/{uidb64}/"
    assert cookie["httponly"]
    assert cookie["max-age"]
    assert response["Location"] == f"/accounts/verify-email/{uidb64}/confirm/"


def test_opening_a_forged_link_shows_the_invalid_link_page_at_once(client, db):
    response = client.get("/accounts/verify-email/bm9wZQ/abc-def/")

    assert response.status_code == 200
    assert b"Invalid or expired link" in response.content
    assert not response.cookies


def test_signup_email_link_verifies_the_new_account(client, db, mailoutbox):
    client.post(
        "/accounts/signup/",
        {
            "email": "grace@example.com",
            "username": "grace",
            "password": PASSWORD,
            "password_confirmation": PASSWORD,
        },
    )

    response = client.post(emailed_path(mailoutbox[-1]))

    assert response["Location"] == "/accounts/profile/"
    assert User.objects.get(username="grace").email_verified


def test_resend_answers_the_same_for_an_unknown_address(client, db, mailoutbox):
    response = client.post(
        "/accounts/verify-email/resend/", {"email": "nobody@example.com"}
    )

    assert response["Location"] == "/accounts/verify-email/resend/done/"
    assert mailoutbox == []


def test_the_owners_browser_stays_signed_in_while_other_sessions_end(
    client, unverified, mailoutbox
):
    other = sign_in(unverified)
    browser_signed_in(unverified, client=client)
    client.post("/accounts/verify-email/resend/", {"email": unverified.email})
    confirm_url = client.get(emailed_path(mailoutbox[-1]))["Location"]

    response = client.post(confirm_url)

    assert response["Location"] == "/accounts/profile/"
    assert client.get("/accounts/profile/").status_code == 200
    assert bearer_client(other["access_token"]).get(ME).status_code == 401
