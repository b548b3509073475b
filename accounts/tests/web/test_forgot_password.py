import pytest
from django.utils import timezone

from accounts.tests.factories import UserFactory


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
