"""Pages shown to a signed-in browser are never stored by it or by a proxy: after
signing out on a shared computer, the back button or a cache must not bring
back an account's page."""

import pytest

from accounts.tests.helpers import ADMIN_USERS, api_client_signed_in_as

SIGNED_IN_PAGES = [
    "/",
    "/accounts/profile/",
    "/accounts/security/",
    "/accounts/password/change/",
    "/accounts/delete/",
]


def no_store(response) -> bool:
    return "no-store" in response.get("Cache-Control", "")


@pytest.mark.parametrize("path", SIGNED_IN_PAGES)
def test_signed_in_pages_are_not_stored(signed_in_client, path):
    response = signed_in_client.get(path)

    assert response.status_code == 200
    assert no_store(response)


def test_admin_pages_are_not_stored(superuser_client):
    response = superuser_client.get(ADMIN_USERS)

    assert response.status_code == 200
    assert no_store(response)


def test_anonymous_home_page_may_be_cached(client, db):
    response = client.get("/")

    assert response.status_code == 200
    assert not no_store(response)


def test_api_answers_to_a_bearer_are_not_stored(user):
    client = api_client_signed_in_as(user)

    response = client.get("/api/v1/users/me")

    assert response.status_code == 200
    assert no_store(response)


def test_token_responses_keep_their_own_cache_header(client, user, password):
    response = client.post(
        "/api/v1/auth/signin",
        {"email": user.email, "password": password},
        content_type="application/json",
    )

    assert response["Cache-Control"] == "no-store"
