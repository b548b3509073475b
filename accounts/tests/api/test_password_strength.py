"""Guessable passwords are refused, with the estimator's advice as the error."""

import pytest

from accounts.models import User
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.helpers import CHANGE, SIGNUP, USERS, api_client_signed_in_as

pytestmark = pytest.mark.django_db

GUESSABLE = ["aaaaaaaaaaaa", "passwordpassword", "Welcome12345", "Password@1234"]


def signup(api_client, password, **overrides):
    body = {"email": "ada@example.com", "username": "ada", "password": password}
    return api_client.post(SIGNUP, {**body, **overrides}, format="json")


@pytest.mark.parametrize("password", GUESSABLE)
def test_signup_refuses_a_guessable_password_of_twelve_or_more(api_client, password):
    response = signup(api_client, password)

    assert response.status_code == 400
    assert list(response.json()) == ["password"]
    assert any(
        message.startswith("This password is too easy to guess.")
        for message in response.json()["password"]
    )
    assert not User.objects.exists()


def test_the_refusal_carries_the_estimators_warning_and_suggestions(api_client):
    response = signup(api_client, "aaaaaaaaaaaa")

    messages = response.json()["password"]
    assert messages == [
        'This password is too easy to guess. Repeats like "aaa" are easy to '
        "guess. Add another word or two. Uncommon words are better. Avoid repeated "
        "words and characters."
    ]


def test_signup_refuses_a_password_built_from_the_users_own_details(api_client):
    response = signup(
        api_client,
        "ZanzibarQuokka7",
        username="zq",
        email="zq@example.com",
        first_name="Zanzibar",
        last_name="Quokka",
    )

    assert response.status_code == 400
    assert response.json()["password"][0].startswith(
        "This password is too easy to guess."
    )


def test_signup_accepts_a_decent_passphrase(api_client):
    response = signup(api_client, "plum kettle orbit seventeen")

    assert response.status_code == 201


def test_a_very_long_password_is_judged_quickly_on_its_start(api_client):
    # The estimator's time grows faster than the length: it sees a bounded
    # prefix, so a 4096-character password costs what a 64-character one does.
    response = signup(api_client, "a" * 4096)

    assert response.status_code == 400
    assert any(
        message.startswith("This password is too easy to guess.")
        for message in response.json()["password"]
    )


def test_change_password_refuses_a_guessable_new_password(password):
    user = UserFactory()
    client = api_client_signed_in_as(user)

    response = client.post(
        CHANGE,
        {"old_password": PASSWORD, "new_password": "Password@1234"},
        format="json",
    )

    assert response.status_code == 400
    assert list(response.json()) == ["new_password"]
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_staff_create_refuses_a_guessable_initial_password():
    staff = api_client_signed_in_as(UserFactory(is_staff=True))

    response = staff.post(
        USERS,
        {"email": "n@example.com", "username": "newbie", "password": "Welcome12345"},
        format="json",
    )

    assert response.status_code == 400
    assert "password" in response.json()
    assert not User.objects.filter(username="newbie").exists()


def test_signup_page_shows_the_advice_as_the_field_error(client):
    response = client.post(
        "/accounts/signup/",
        {
            "email": "grace@example.com",
            "username": "grace",
            "password": "passwordpassword",
            "password_confirmation": "passwordpassword",
        },
    )

    assert response.status_code == 200
    errors = response.context["form"].errors["password"]
    assert any(
        error.startswith("This password is too easy to guess.") for error in errors
    )
    assert "too easy to guess" in response.content.decode()
    assert not User.objects.exists()
