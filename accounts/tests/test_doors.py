"""The API goes past the browser doors' middleware (accounts.doors, issue 18):
no session, CSRF or messages for a bearer-token call, every header that
protects a response still on it, and the pages unchanged."""

import pytest
from django.conf import settings
from django.test import Client

from accounts.tests.factories import UserFactory
from accounts.tests.helpers import browser_signed_in, get_me, sign_in

pytestmark = pytest.mark.django_db

ORIGIN = "https://app.example.com"


def _protected(response) -> None:
    assert response["X-Request-ID"]
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_an_api_answer_has_its_headers_and_nothing_of_the_browser_doors(
    client, settings
):
    settings.CORS_ALLOWED_ORIGINS = [ORIGIN]
    user = UserFactory()
    tokens = sign_in(user)

    response = client.get(
        "/api/v1/users/me",
        HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}",
        HTTP_ORIGIN=ORIGIN,
    )

    assert response.status_code == 200
    _protected(response)
    assert "no-store" in response["Cache-Control"]
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert response["Vary"] == "origin"  # no Cookie: the answer never reads one
    assert not response.cookies
    request = response.wsgi_request
    assert not hasattr(request, "session") and not hasattr(request, "_messages")
    assert request.user == user  # set by DRF, from the bearer token


def test_a_browser_session_cookie_means_nothing_to_the_api():
    user = UserFactory()
    browser = browser_signed_in(user)
    session_cookie = browser.cookies[settings.SESSION_COOKIE_NAME].value

    me = browser.get("/api/v1/users/me")
    # A POST without a CSRF token is not refused for CSRF either: the API has
    # no cookie-based authentication to forge.
    signin = browser.post(
        "/api/v1/auth/signin", {"email": user.email}, content_type="application/json"
    )

    assert me.status_code == 401
    assert signin.status_code == 400
    assert browser.cookies[settings.SESSION_COOKIE_NAME].value == session_cookie
    assert "Cookie" not in me["Vary"]


@pytest.mark.parametrize("path", ["/.well-known/jwks.json", "/api/v1/health"])
def test_the_other_machine_paths_are_api_doors(client, path):
    response = client.get(path)

    assert response.status_code == 200
    _protected(response)
    assert not response.cookies
    assert not hasattr(response.wsgi_request, "session")


def test_the_pages_keep_sessions_csrf_and_the_signed_in_user():
    user = UserFactory()
    browser = Client(enforce_csrf_checks=True)
    browser.cookies = browser_signed_in(user).cookies

    page = browser.get("/accounts/security/")
    forged = browser.post("/accounts/signout/")

    assert page.status_code == 200
    _protected(page)
    assert page.wsgi_request.user == user
    assert "Cookie" in page["Vary"]
    assert forged.status_code == 403  # CSRF still guards the pages


def test_an_api_token_still_works_beside_a_signed_in_browser():
    user = UserFactory()
    browser = browser_signed_in(user)
    tokens = sign_in(user)

    assert get_me(browser, tokens["access_token"]).status_code == 200
