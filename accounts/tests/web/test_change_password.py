from django.test import Client

from accounts.models import AuthEvent
from accounts.tests.helpers import bearer_client, field_errors

NEW_PASSWORD = "a brand new passphrase"


def change(client, old, new=NEW_PASSWORD, confirmation=None):
    return client.post(
        "/accounts/password/change/",
        {
            "old_password": old,
            "new_password": new,
            "new_password_confirmation": confirmation or new,
        },
    )


def test_change_password_page_needs_a_signed_in_user(client, db):
    response = client.get("/accounts/password/change/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/signin/?next=")


def test_change_password_page_renders_with_autocomplete_hints(signed_in_client):
    response = signed_in_client.get("/accounts/password/change/")

    html = response.content.decode()
    assert response.status_code == 200
    assert 'autocomplete="current-password"' in html
    assert html.count('autocomplete="new-password"') == 2


def test_change_password_keeps_this_session_and_revokes_the_others(
    client, user, password, tokens, mailoutbox
):
    client.post("/accounts/signin/", {"username": user.email, "password": password})
    elsewhere = Client()
    elsewhere.post("/accounts/signin/", {"username": user.email, "password": password})
    api = bearer_client(tokens["access_token"])

    response = change(client, password)

    user.refresh_from_db()
    assert response.status_code == 302
    assert user.check_password(NEW_PASSWORD)
    assert client.get("/accounts/profile/").status_code == 200
    assert elsewhere.get("/accounts/profile/").status_code == 302
    assert api.get("/api/v1/users/me").status_code == 401
    assert AuthEvent.objects.filter(
        user=user, type=AuthEvent.Type.PASSWORD_CHANGED
    ).exists()
    assert any("password" in m.subject.lower() for m in mailoutbox)


def test_change_password_refuses_a_wrong_current_password(
    signed_in_client, user, password
):
    response = change(signed_in_client, "not my password")

    user.refresh_from_db()
    assert response.status_code == 200
    assert field_errors(response, "old_password") == ["Incorrect current password"]
    assert b"not my password" not in response.content
    assert user.check_password(password)


def test_change_password_refuses_a_weak_new_password(signed_in_client, user, password):
    response = change(signed_in_client, password, new="password")

    user.refresh_from_db()
    assert field_errors(response, "new_password")
    assert user.check_password(password)


def test_change_password_refuses_mismatched_new_passwords(
    signed_in_client, user, password
):
    response = change(signed_in_client, password, confirmation="something else")

    user.refresh_from_db()
    assert field_errors(response, "new_password_confirmation") == [
        "The two passwords do not match."
    ]
    assert user.check_password(password)
