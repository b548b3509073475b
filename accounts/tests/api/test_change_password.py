import pytest
from django.core import mail

from accounts.models import AuthEvent
from accounts.tests.helpers import CHANGE

pytestmark = pytest.mark.django_db

NEW = "a brand new passphrase"


def test_change_password_returns_fresh_tokens_and_revokes_the_old_ones(
    api_client, auth_api_client, tokens, user, password
):
    response = auth_api_client.post(
        CHANGE, {"old_password": password, "new_password": NEW}, format="json"
    )

    assert response.status_code == 200
    body = response.json()
    assert body["user"]["id"] == str(user.pk)
    assert auth_api_client.get("/api/v1/users/me").status_code == 401
    old_refresh = api_client.post(
        "/api/v1/auth/token/refresh",
        {"refresh_token": tokens["refresh_token"]},
        format="json",
    )
    assert old_refresh.status_code == 401
    fresh = api_client.get(
        "/api/v1/users/me", HTTP_AUTHORIZATION=f"Bearer {body['access_token']}"
    )
    assert fresh.status_code == 200
    user.refresh_from_db()
    assert user.check_password(NEW)
    assert AuthEvent.objects.filter(user=user, type="password_changed").exists()


def test_change_password_emails_a_notice(auth_api_client, user, password):
    auth_api_client.post(
        CHANGE, {"old_password": password, "new_password": NEW}, format="json"
    )

    assert [m.to for m in mail.outbox] == [[user.email]]


def test_change_password_refuses_a_wrong_current_password(
    auth_api_client, user, password
):
    response = auth_api_client.post(
        CHANGE, {"old_password": "not it at all", "new_password": NEW}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"old_password": ["Incorrect current password"]}
    user.refresh_from_db()
    assert user.check_password(password)
    assert auth_api_client.get("/api/v1/users/me").status_code == 200


def test_change_password_refuses_a_weak_new_password(auth_api_client, user, password):
    response = auth_api_client.post(
        CHANGE, {"old_password": password, "new_password": "short"}, format="json"
    )

    assert response.status_code == 400
    assert "new_password" in response.json()
    user.refresh_from_db()
    assert user.check_password(password)


def test_change_password_requires_a_bearer_token(api_client, password):
    response = api_client.post(
        CHANGE, {"old_password": password, "new_password": NEW}, format="json"
    )

    assert response.status_code == 401
