import json

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import AuthEvent, TokenSession, User
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import SIGNUP

pytestmark = pytest.mark.django_db


def signup_body(**overrides):
    return {
        "email": "ada@example.com",
        "username": "ada",
        "password": "correct horse battery staple",
        **overrides,
    }


def test_signup_creates_the_account_and_returns_tokens(api_client):
    response = api_client.post(SIGNUP, signup_body(first_name="Ada"), format="json")

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {
        "access_token",
        "refresh_token",
        "token_type",
        "expires_in",
        "user",
    }
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert response["Cache-Control"] == "no-store"
    user = User.objects.get()
    assert body["user"] == {
        "id": str(user.pk),
        "username": "ada",
        "email": "ada@example.com",
        "first_name": "Ada",
        "last_name": "",
        "email_verified": False,
        "is_active": True,
        "date_joined": user.date_joined.isoformat().replace("+00:00", "Z"),
        "last_login": None,
    }
    assert TokenSession.objects.filter(user=user).count() == 1
    assert AuthEvent.objects.filter(user=user, type="signup").exists()


def test_signup_queues_the_welcome_email(api_client):
    api_client.post(SIGNUP, signup_body(), format="json")

    assert [message.to for message in mail.outbox] == [["ada@example.com"]]


def test_signup_tokens_work_on_me(api_client):
    tokens = api_client.post(SIGNUP, signup_body(), format="json").json()

    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    response = api_client.get("/api/v1/users/me")

    assert response.status_code == 200
    assert response.json()["username"] == "ada"


def test_signup_refuses_an_email_registered_in_another_case(api_client):
    UserFactory(email="ada@example.com")

    response = api_client.post(
        SIGNUP, signup_body(email="ADA@Example.com"), format="json"
    )

    assert response.status_code == 400
    assert response.json()["email"] == ["Email already registered"]
    assert User.objects.count() == 1
    assert mail.outbox == []


def test_signup_refuses_a_username_taken_in_another_case(api_client):
    UserFactory(username="Ada", email="someone@example.com")

    response = api_client.post(SIGNUP, signup_body(username="aDA"), format="json")

    assert response.status_code == 400
    assert response.json() == {"username": ["Username already taken"]}


def test_signup_reports_both_fields_when_both_are_taken(api_client):
    UserFactory(username="ada", email="ada@example.com")

    response = api_client.post(SIGNUP, signup_body(), format="json")

    assert set(response.json()) == {"email", "username"}


@pytest.mark.parametrize(
    "password",
    ["short", "12345678901234", "password12345", "ada@example.com1"],
    ids=["too-short", "numeric", "common", "similar"],
)
def test_signup_refuses_a_weak_password(api_client, password):
    response = api_client.post(SIGNUP, signup_body(password=password), format="json")

    assert response.status_code == 400
    assert "password" in response.json()
    assert not User.objects.exists()


def test_signup_refuses_a_password_over_4096_characters(api_client):
    response = api_client.post(SIGNUP, signup_body(password="x" * 4097), format="json")

    assert response.status_code == 400
    assert "password" in response.json()


@pytest.mark.parametrize("field", ["is_staff", "is_superuser", "email_verified", "id"])
def test_signup_refuses_unknown_or_read_only_fields_by_name(api_client, field):
    response = api_client.post(SIGNUP, signup_body(**{field: True}), format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not User.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", "not-an-email"),
        ("username", "has space"),
        ("username", "x" * 151),
        ("first_name", "x" * 151),
        ("username", "nul\x00byte"),
        ("email", ""),
    ],
)
def test_signup_refuses_malformed_fields(api_client, field, value):
    response = api_client.post(SIGNUP, signup_body(**{field: value}), format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not User.objects.exists()


def test_signup_refuses_a_username_differing_only_by_compatibility_form(api_client):
    UserFactory(username="file")

    response = api_client.post(SIGNUP, signup_body(username="ﬁle"), format="json")

    assert response.status_code == 400
    assert response.json()["username"] == ["Username already taken"]


def test_signup_refuses_malformed_json_with_400(api_client):
    response = api_client.post(SIGNUP, "{not json", content_type="application/json")

    assert response.status_code == 400
    assert "detail" in response.json()


def test_signup_refuses_a_json_array_with_400(api_client):
    response = api_client.post(SIGNUP, "[1, 2]", content_type="application/json")

    assert response.status_code == 400


def test_signup_refuses_form_encoded_bodies_with_415(api_client):
    response = api_client.post(SIGNUP, signup_body())

    assert response.status_code == 415


def test_signup_refuses_an_oversize_body_with_a_4xx(api_client):
    body = signup_body(first_name="x" * 100_000)

    response = api_client.post(SIGNUP, body, format="json")

    assert 400 <= response.status_code < 500
    assert not User.objects.exists()


def test_signup_ignores_a_stale_bearer_header(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")

    response = api_client.post(SIGNUP, signup_body(), format="json")

    assert response.status_code == 201


def test_signup_with_mandatory_verification_withholds_tokens(api_client, settings):
    settings.EMAIL_VERIFICATION = "mandatory"

    response = api_client.post(SIGNUP, signup_body(), format="json")

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"detail", "user"}
    assert body["user"]["email_verified"] is False
    assert not TokenSession.objects.exists()


def test_signup_with_a_soft_deleted_accounts_email_and_username_works(api_client):
    gone = UserFactory(username="ada", email="ada@example.com")
    gone.deleted_at, gone.is_active = timezone.now(), False
    gone.save()

    response = api_client.post(SIGNUP, signup_body(), format="json")

    assert response.status_code == 201
    assert User.objects.filter(email="ada@example.com").count() == 2


def test_signup_refuses_a_body_over_the_size_limit_with_json_413(api_client):
    body = json.dumps(signup_body()) + " " * 100_000

    response = api_client.post(SIGNUP, body, content_type="application/json")

    assert response.status_code == 413
    assert response.json() == {"detail": "Request body too large."}
    assert not User.objects.exists()
