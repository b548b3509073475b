from urllib.parse import urlencode

import bcrypt
import pytest
from django.utils import timezone

from accounts.models import AuthEvent, User
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import SIGNIN

pytestmark = pytest.mark.django_db


def test_signin_with_email_returns_tokens_and_the_user(api_client, user, password):
    response = api_client.post(
        SIGNIN, {"email": user.email, "password": password}, format="json"
    )

    assert response.status_code == 200
    body = response.json()
    assert body["user"]["id"] == str(user.pk)
    assert body["token_type"] == "Bearer"
    assert response["Cache-Control"] == "no-store"


def test_signin_with_username_in_another_case_works(api_client, password):
    UserFactory(username="Ada")

    response = api_client.post(
        SIGNIN, {"username": "aDA", "password": password}, format="json"
    )

    assert response.status_code == 200


def test_signin_accepts_a_username_in_the_email_field(api_client, user, password):
    response = api_client.post(
        SIGNIN, {"email": user.username, "password": password}, format="json"
    )

    assert response.status_code == 200


def test_signin_accepts_a_form_encoded_body(api_client, user, password):
    body = urlencode({"username": user.email.upper(), "password": password})

    response = api_client.post(
        SIGNIN, body, content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 200


def test_signin_updates_last_login(api_client, user, password):
    before = timezone.now()

    api_client.post(SIGNIN, {"email": user.email, "password": password}, format="json")

    user.refresh_from_db()
    assert user.last_login >= before


def test_signin_wrong_password_and_unknown_account_get_the_same_answer(
    api_client, user
):
    wrong = api_client.post(
        SIGNIN, {"email": user.email, "password": "nope" * 4}, format="json"
    )
    unknown = api_client.post(
        SIGNIN, {"email": "nobody@example.com", "password": "nope" * 4}, format="json"
    )

    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"detail": "Invalid email or password"}
    assert AuthEvent.objects.filter(type="signin_failed").count() == 2


def test_signin_inactive_account_with_correct_password_is_403(api_client, password):
    user = UserFactory(is_active=False)

    response = api_client.post(
        SIGNIN, {"email": user.email, "password": password}, format="json"
    )

    assert response.status_code == 403
    assert response.json() == {"detail": "User account is inactive"}


def test_signin_inactive_account_with_wrong_password_is_401(api_client):
    user = UserFactory(is_active=False)

    response = api_client.post(
        SIGNIN, {"email": user.email, "password": "wrong" * 4}, format="json"
    )

    assert response.status_code == 401


def test_signin_soft_deleted_account_looks_unknown(api_client, password):
    user = UserFactory(is_active=False, deleted_at=timezone.now())

    response = api_client.post(
        SIGNIN, {"email": user.email, "password": password}, format="json"
    )

    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid email or password"}


def test_signin_unverified_account_with_mandatory_verification_is_403(
    api_client, password, settings
):
    settings.EMAIL_VERIFICATION = "mandatory"
    user = UserFactory(email_verified=False)

    response = api_client.post(
        SIGNIN, {"email": user.email, "password": password}, format="json"
    )

    assert response.status_code == 403
    assert response.json() == {"detail": "Email address not verified"}


def test_signin_without_identifier_is_400(api_client, password):
    response = api_client.post(SIGNIN, {"password": password}, format="json")

    assert response.status_code == 400
    assert "email" in response.json()


def test_signin_refuses_unknown_fields(api_client, user, password):
    response = api_client.post(
        SIGNIN,
        {"email": user.email, "password": password, "remember": True},
        format="json",
    )

    assert response.status_code == 400
    assert "remember" in response.json()


def test_signin_upgrades_a_bcrypt_hash_to_argon2(api_client, settings):
    settings.PASSWORD_HASHERS = [
        "accounts.hashers.Argon2PasswordHasher",
        "django.contrib.auth.hashers.BCryptPasswordHasher",
    ]
    raw = bcrypt.hashpw(b"an imported passphrase", bcrypt.gensalt(rounds=4)).decode()
    user = UserFactory(password=None)
    User.objects.filter(pk=user.pk).update(password=f"bcrypt${raw}")

    response = api_client.post(
        SIGNIN,
        {"email": user.email, "password": "an imported passphrase"},
        format="json",
    )

    assert response.status_code == 200
    user.refresh_from_db()
    assert user.password.startswith("argon2$")
