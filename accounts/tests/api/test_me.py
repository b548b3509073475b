import pytest
from django.core import mail

from accounts.models import TokenSession, User
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import ME

pytestmark = pytest.mark.django_db


def test_me_returns_the_user_object(auth_api_client, user):
    response = auth_api_client.get(ME)

    assert response.status_code == 200
    assert response.json()["id"] == str(user.pk)
    assert "password" not in response.json()


def test_me_requires_a_bearer_token(api_client):
    response = api_client.get(ME)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_patch_me_updates_names(auth_api_client, user):
    response = auth_api_client.patch(
        ME, {"first_name": "Grace", "last_name": "Hopper"}, format="json"
    )

    assert response.status_code == 200
    assert (response.json()["first_name"], response.json()["last_name"]) == (
        "Grace",
        "Hopper",
    )
    user.refresh_from_db()
    assert user.get_full_name() == "Grace Hopper"


@pytest.mark.parametrize(
    "field",
    ["is_staff", "is_active", "email_verified", "password", "is_superuser", "id"],
)
def test_patch_me_refuses_protected_fields_and_changes_nothing(
    auth_api_client, user, field
):
    response = auth_api_client.patch(
        ME, {field: True, "first_name": "Eve"}, format="json"
    )

    assert response.status_code == 400
    assert field in response.json()
    fresh = User.objects.get(pk=user.pk)
    assert (fresh.is_staff, fresh.is_active, fresh.first_name) == (False, True, "Ada")


def test_patch_me_refuses_a_taken_username_ignoring_case(auth_api_client):
    UserFactory(username="Grace")

    response = auth_api_client.patch(ME, {"username": "grace"}, format="json")

    assert response.status_code == 400
    assert response.json() == {"username": ["Username already taken"]}


def test_patch_me_with_a_taken_email_answers_as_for_any_address(auth_api_client, user):
    # Changes v1: uniqueness is enforced when the new address confirms, so the
    # answer does not tell whether another account has the address.
    UserFactory(email="grace@example.com")

    response = auth_api_client.patch(ME, {"email": "Grace@example.com"}, format="json")

    assert response.status_code == 200
    assert response.json()["email"] == user.email
    assert response.json()["pending_email"] == "grace@example.com"
    user.refresh_from_db()
    assert user.email_verified is True


def test_patch_me_email_change_stays_pending_and_notifies_both_addresses(
    auth_api_client, user
):
    old = user.email

    response = auth_api_client.patch(ME, {"email": "new@example.com"}, format="json")

    assert response.status_code == 200
    assert response.json()["email"] == old
    assert response.json()["email_verified"] is True
    assert response.json()["pending_email"] == "new@example.com"
    assert sorted(m.to[0] for m in mail.outbox) == sorted([old, "new@example.com"])


def test_patch_me_keeping_own_username_in_another_case_is_allowed(
    auth_api_client, user
):
    response = auth_api_client.patch(
        ME, {"username": user.username.upper()}, format="json"
    )

    assert response.status_code == 200


def test_delete_me_soft_deletes_and_revokes_tokens(
    api_client, auth_api_client, tokens, user, password
):
    response = auth_api_client.delete(ME, {"password": password}, format="json")

    assert response.status_code == 204
    user.refresh_from_db()
    assert user.deleted_at is not None and user.is_active is False
    assert auth_api_client.get(ME).status_code == 401
    refreshed = api_client.post(
        "/api/v1/auth/token/refresh",
        {"refresh_token": tokens["refresh_token"]},
        format="json",
    )
    assert refreshed.status_code == 401
    signin = api_client.post(
        "/api/v1/auth/signin",
        {"email": user.email, "password": password},
        format="json",
    )
    assert signin.status_code == 401
    assert not TokenSession.objects.filter(user=user, revoked_at__isnull=True).exists()


def test_delete_me_with_a_wrong_password_is_400_and_keeps_the_account(
    auth_api_client, user
):
    response = auth_api_client.delete(
        ME, {"password": "not my password"}, format="json"
    )

    assert response.status_code == 400
    assert "password" in response.json()
    user.refresh_from_db()
    assert user.deleted_at is None and user.is_active
    assert auth_api_client.get(ME).status_code == 200
