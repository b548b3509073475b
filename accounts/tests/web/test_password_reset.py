"""The password-reset flow through the pages: asking for a link on the forgot
page, then setting a new password from the emailed link."""

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from accounts.tests.factories import UserFactory
from accounts.tests.helpers import emailed_path, field_errors, messages_of

NEW_PASSWORD = "a brand new passphrase"


def test_forgot_password_page_renders(client, db):
    response = client.get("/accounts/password/forgot/")

    assert response.status_code == 200
    assert b'autocomplete="email"' in response.content


def test_forgot_password_emails_a_reset_link_and_shows_the_confirmation(
    client, user, mailoutbox
):
    response = client.post(
        "/accounts/password/forgot/", {"email": user.email.upper()}, follow=True
    )

    assert response.redirect_chain == [("/accounts/password/forgot/done/", 302)]
    assert b"Check your email" in response.content
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [user.email]
    assert "https://id.example.com/accounts/password/reset/" in mailoutbox[0].body


@pytest.mark.parametrize("kind", ["unknown", "inactive", "deleted"])
def test_forgot_password_answers_the_same_and_sends_nothing_without_an_account(
    client, db, mailoutbox, kind
):
    email = "someone@example.com"
    if kind == "inactive":
        UserFactory(email=email, is_active=False)
    elif kind == "deleted":
        UserFactory(email=email, is_active=False, deleted_at=timezone.now())

    response = client.post("/accounts/password/forgot/", {"email": email})

    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/forgot/done/"
    assert mailoutbox == []


def test_forgot_password_refuses_a_malformed_email(client, db, mailoutbox):
    response = client.post("/accounts/password/forgot/", {"email": "not-an-email"})

    assert response.status_code == 200
    assert "email" in response.context["form"].errors
    assert mailoutbox == []


@pytest.fixture
def reset_path(client, user, mailoutbox):
    client.post("/accounts/password/forgot/", {"email": user.email})
    return emailed_path(mailoutbox[-1])


def test_reset_link_moves_the_token_out_of_the_url_before_showing_the_form(
    client, user, reset_path
):
    token = reset_path.rstrip("/").rsplit("/", 1)[1]

    response = client.get(reset_path, follow=True)

    final_url = response.redirect_chain[-1][0]
    assert response.status_code == 200
    assert token not in final_url
    assert final_url.endswith("/set-password/")
    assert token.encode() not in response.content
    assert b'autocomplete="new-password"' in response.content
    assert user.username.encode() in response.content


def test_reset_sets_the_new_password_and_sends_to_sign_in(
    client, user, reset_path, mailoutbox
):
    form_url = client.get(reset_path)["Location"]

    response = client.post(
        form_url,
        {"new_password": NEW_PASSWORD, "new_password_confirmation": NEW_PASSWORD},
    )

    user.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == "/accounts/signin/"
    assert user.check_password(NEW_PASSWORD)
    assert "password has been reset" in messages_of(response)[0]
    assert "password" in mailoutbox[-1].subject.lower()


def test_reset_refuses_a_weak_password_and_keeps_the_old_one(
    client, user, password, reset_path
):
    form_url = client.get(reset_path)["Location"]

    response = client.post(
        form_url, {"new_password": "123", "new_password_confirmation": "123"}
    )

    user.refresh_from_db()
    assert response.status_code == 200
    assert field_errors(response, "new_password")
    assert b'value="123"' not in response.content
    assert user.check_password(password)


def test_reset_refuses_mismatched_passwords(client, user, password, reset_path):
    form_url = client.get(reset_path)["Location"]

    response = client.post(
        form_url,
        {"new_password": NEW_PASSWORD, "new_password_confirmation": "different"},
    )

    user.refresh_from_db()
    assert field_errors(response, "new_password_confirmation")
    assert user.check_password(password)


def test_reset_link_works_only_once(client, user, reset_path):
    form_url = client.get(reset_path)["Location"]
    client.post(
        form_url,
        {"new_password": NEW_PASSWORD, "new_password_confirmation": NEW_PASSWORD},
    )

    response = client.get(reset_path)

    assert response.status_code == 200
    assert b"Invalid or expired link" in response.content
    assert b'name="new_password"' not in response.content


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/password/reset/bm90LWEtdXVpZA/abc-123/",
        "/accounts/password/reset/%%%/abc/",
        "/accounts/password/reset/MQ/set-password/",
    ],
)
def test_reset_with_a_forged_link_shows_the_invalid_link_page(client, db, path):
    response = client.get(path)

    assert response.status_code == 200
    assert b"Invalid or expired link" in response.content


def test_reset_form_without_the_token_in_the_session_is_refused(
    client, user, reset_path
):
    uidb64 = reset_path.split("/")[4]

    response = client.post(
        f"/accounts/password/reset/{uidb64}/set-password/",
        {"new_password": NEW_PASSWORD, "new_password_confirmation": NEW_PASSWORD},
    )

    user.refresh_from_db()
    assert b"Invalid or expired link" in response.content
    assert not user.check_password(NEW_PASSWORD)


def test_reset_signs_out_every_other_session(client, user, mailoutbox):
    elsewhere = Client()
    elsewhere.force_login(user)
    client.post("/accounts/password/forgot/", {"email": user.email})
    form_url = client.get(emailed_path(mailoutbox[-1]))["Location"]

    client.post(
        form_url,
        {"new_password": NEW_PASSWORD, "new_password_confirmation": NEW_PASSWORD},
    )

    assert elsewhere.get("/accounts/profile/").status_code == 302


def test_opening_a_reset_link_anonymously_creates_no_database_session(
    client, user, reset_path
):
    # A session row per anonymous GET would let anyone fill the session table.
    before = Session.objects.count()

    client.get(reset_path, follow=True)

    assert Session.objects.count() == before
    assert settings.SESSION_COOKIE_NAME not in client.cookies


def test_the_reset_token_is_kept_in_a_cookie_scoped_to_the_link(
    client, user, reset_path
):
    token = reset_path.rstrip("/").rsplit("/", 1)[1]
    uidb64 = reset_path.split("/")[4]

    response = client.get(reset_path)

    cookie = response.cookies["reset_password_token"]
    assert token in cookie.value
    assert cookie["path"] == f"/accounts/password/reset/{uidb64}/"
    assert cookie["httponly"]
    assert response["Location"] == f"/accounts/password/reset/{uidb64}/set-password/"


def test_a_used_reset_link_leaves_no_token_cookie_behind(client, user, reset_path):
    form_url = client.get(reset_path)["Location"]

    response = client.post(
        form_url,
        {"new_password": NEW_PASSWORD, "new_password_confirmation": NEW_PASSWORD},
    )

    assert response.cookies["reset_password_token"].value == ""
