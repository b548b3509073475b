"""SPA sessions in a cookie: a sign-in with `X-Token-Transport: cookie` keeps
the session's refresh token in an HttpOnly cookie, out of every body, read only
with the header from an allowed Origin."""

from datetime import timedelta

import pytest
import time_machine
from rest_framework.test import APIClient

from accounts.models import AuthEvent, TokenSession
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.helpers import (
    CHANGE,
    ME,
    REFRESH,
    SESSIONS,
    SIGNIN,
    SIGNIN_MFA,
    SIGNOUT,
    SIGNOUT_ALL,
    SIGNUP,
    bearer_client,
    emailed_code,
    enable_totp,
    sign_in,
    totp_code,
)

pytestmark = pytest.mark.django_db

START = "2026-06-01 12:00:10Z"
# The test settings' SITE_URL.
ORIGIN = "https://id.example.com"
SECURE_NAME = "__Host-identity_refresh"
PLAIN_NAME = "identity_refresh"
COOKIE = {"HTTP_X_TOKEN_TRANSPORT": "cookie", "HTTP_ORIGIN": ORIGIN}
CODE_REQUEST = "/api/v1/auth/signin/code/request"
SIGNIN_CODE = "/api/v1/auth/signin/code"
WEEK = 7 * 24 * 3600


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def cookie_sign_in(client, user, **extra):
    response = client.post(
        SIGNIN,
        {"email": user.email, "password": PASSWORD},
        format="json",
        **{**COOKIE, **extra},
    )
    assert response.status_code == 200, response.content
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access_token']}")
    return response


def cookie_refresh(client, **extra):
    return client.post(REFRESH, {}, format="json", **{**COOKIE, **extra})


def held(client, name=SECURE_NAME) -> str:
    """The refresh token the client's cookie jar holds."""
    return client.cookies[name].value


def present(client, token, name=SECURE_NAME) -> None:
    """Put `token` in the client's cookie jar, as a second tab still holding
    an older cookie would send it."""
    client.cookies[name] = token


def assert_cleared(response, name=SECURE_NAME):
    cookie = response.cookies[name]
    assert cookie.value == ""
    assert cookie["max-age"] == 0
    assert cookie["path"] == "/"


@pytest.fixture
def client():
    return APIClient()


@pytest.fixture
def other_user(db):
    return UserFactory()


# ---------------------------------------------------------------------------
# The cookie
# ---------------------------------------------------------------------------
def test_cookie_sign_in_sets_the_refresh_cookie_with_exact_attributes(client, user):
    response = cookie_sign_in(client, user)

    cookie = response.cookies[SECURE_NAME]
    assert cookie.value
    assert cookie["httponly"] is True
    assert cookie["secure"] is True
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == "/"
    assert cookie["domain"] == ""
    assert cookie["max-age"] == WEEK
    assert PLAIN_NAME not in response.cookies
    assert response["Cache-Control"] == "no-store"


def test_plain_http_site_uses_the_unprefixed_cookie_without_secure(
    client, user, settings
):
    settings.SITE_URL = "http://localhost:8000"

    response = cookie_sign_in(client, user, HTTP_ORIGIN="http://localhost:8000")

    cookie = response.cookies[PLAIN_NAME]
    assert cookie["secure"] == ""
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == "/"
    assert SECURE_NAME not in response.cookies
    refreshed = cookie_refresh(client, HTTP_ORIGIN="http://localhost:8000")
    assert refreshed.status_code == 200
    assert refreshed.cookies[PLAIN_NAME].value


def test_cookie_max_age_is_the_refresh_tokens_remaining_life(client, user, clock):
    cookie_sign_in(client, user)
    # A day before SESSION_MAX_AGE_DAYS (30) ends the session, a refresh
    # token (and its cookie) lives one day, not a week.
    for _ in range(4):
        clock.shift(timedelta(days=6))
        assert cookie_refresh(client).status_code == 200

    clock.shift(timedelta(days=5))
    response = cookie_refresh(client)

    assert response.status_code == 200
    assert response.cookies[SECURE_NAME]["max-age"] == 24 * 3600


def test_body_sign_in_sets_no_cookie_and_answers_the_refresh_token(client, user):
    response = client.post(
        SIGNIN, {"email": user.email, "password": PASSWORD}, format="json"
    )

    assert "refresh_token" in response.json()
    assert SECURE_NAME not in response.cookies


@pytest.mark.parametrize("value", ["Cookie", " cookie "])
def test_header_value_is_read_ignoring_case_and_spaces(client, user, value):
    response = cookie_sign_in(client, user, HTTP_X_TOKEN_TRANSPORT=value)

    assert "refresh_token" not in response.json()


def test_unknown_transport_is_refused(client, user):
    response = client.post(
        SIGNIN,
        {"email": user.email, "password": PASSWORD},
        format="json",
        **{**COOKIE, "HTTP_X_TOKEN_TRANSPORT": "cookies"},
    )

    assert response.status_code == 400
    assert not TokenSession.objects.exists()


# ---------------------------------------------------------------------------
# No refresh token in any body
# ---------------------------------------------------------------------------
def test_cookie_signup_answers_without_a_refresh_token(client, db):
    response = client.post(
        SIGNUP,
        {"email": "new@example.com", "username": "newcomer", "password": PASSWORD},
        format="json",
        **COOKIE,
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert "refresh_token" not in body
    assert body["access_token"] and body["user"]["username"] == "newcomer"
    assert response.cookies[SECURE_NAME]["httponly"] is True
    assert TokenSession.objects.get().transport == "cookie"


def test_cookie_refresh_answers_without_a_refresh_token_and_rotates_the_cookie(
    client, user
):
    cookie_sign_in(client, user)
    first = held(client)

    response = cookie_refresh(client)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert response["Cache-Control"] == "no-store"
    assert held(client) != first
    me = client.get(ME, HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    assert me.status_code == 200


def test_cookie_session_refreshed_through_the_body_still_keeps_it_out(client, user):
    """A cookie session's token never comes back in a body, header or not."""
    cookie_sign_in(client, user)
    token = held(client)

    response = APIClient().post(REFRESH, {"refresh_token": token}, format="json")

    assert response.status_code == 200
    assert "refresh_token" not in response.json()
    assert response.cookies[SECURE_NAME].value


def test_change_password_of_a_cookie_session_keeps_the_new_token_in_the_cookie(
    client, user
):
    cookie_sign_in(client, user)

    response = client.post(
        CHANGE,
        {"old_password": PASSWORD, "new_password": "An0ther-long-passphrase!"},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert "refresh_token" not in response.json()
    assert response.cookies[SECURE_NAME].value
    assert TokenSession.objects.get(revoked_at__isnull=True).transport == "cookie"
    assert cookie_refresh(client).status_code == 200


def test_change_password_of_a_body_session_answers_in_the_body(client, user):
    tokens = sign_in(user, client=client)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")

    response = client.post(
        CHANGE,
        {"old_password": PASSWORD, "new_password": "An0ther-long-passphrase!"},
        format="json",
    )

    assert "refresh_token" in response.json()
    assert SECURE_NAME not in response.cookies


# ---------------------------------------------------------------------------
# Reading the cookie: only with the header, from an allowed Origin
# ---------------------------------------------------------------------------
def test_refresh_without_the_header_ignores_the_cookie(client, user):
    cookie_sign_in(client, user)

    response = client.post(REFRESH, {}, format="json", HTTP_ORIGIN=ORIGIN)

    assert response.status_code == 400
    assert "refresh_token" in response.json()
    assert cookie_refresh(client).status_code == 200


@pytest.mark.parametrize(
    "origin",
    [None, "https://evil.example", "http://id.example.com", "null", "https://id"],
)
def test_cookie_refresh_from_a_missing_or_other_origin_is_403(client, user, origin):
    cookie_sign_in(client, user)
    extra = {"HTTP_X_TOKEN_TRANSPORT": "cookie"}
    if origin:
        extra["HTTP_ORIGIN"] = origin

    response = client.post(REFRESH, {}, format="json", **extra)

    assert response.status_code == 403
    assert SECURE_NAME not in response.cookies
    # Nothing rotated: the cookie still works from the right origin.
    assert cookie_refresh(client).status_code == 200


def test_cookie_sign_in_from_another_origin_is_403_and_starts_nothing(client, user):
    response = client.post(
        SIGNIN,
        {"email": user.email, "password": PASSWORD},
        format="json",
        HTTP_X_TOKEN_TRANSPORT="cookie",
        HTTP_ORIGIN="https://evil.example",
    )

    assert response.status_code == 403
    assert not TokenSession.objects.exists()


@pytest.mark.parametrize(
    ("setting", "value", "origin"),
    [
        ("FRONTEND_URL", "https://app.example.com/spa", "https://app.example.com"),
        (
            "CORS_ALLOWED_ORIGINS",
            ["https://app.example.com"],
            "https://app.example.com",
        ),
        ("SITE_URL", "https://ID.example.com:443/", "https://id.example.com"),
    ],
)
def test_frontend_and_listed_cors_origins_may_use_the_cookie(
    client, user, settings, setting, value, origin
):
    setattr(settings, setting, value)

    cookie_sign_in(client, user, HTTP_ORIGIN=origin)

    assert cookie_refresh(client, HTTP_ORIGIN=origin).status_code == 200


def test_cross_site_form_post_cannot_refresh_through_the_cookie(client, user):
    """What a page elsewhere can send without a preflight: a form post, no
    custom header. The cookie is not read, so nothing rotates."""
    cookie_sign_in(client, user)

    response = client.post(
        REFRESH,
        "refresh_token=",
        content_type="application/x-www-form-urlencoded",
        HTTP_ORIGIN="https://evil.example",
    )

    assert response.status_code in (400, 415)
    assert SECURE_NAME not in response.cookies
    assert cookie_refresh(client).status_code == 200


def test_refresh_token_in_the_body_with_the_header_is_400(client, user):
    cookie_sign_in(client, user)

    response = client.post(
        REFRESH, {"refresh_token": held(client)}, format="json", **COOKIE
    )

    assert response.status_code == 400
    assert "refresh_token" in response.json()
    assert cookie_refresh(client).status_code == 200


def test_cors_preflight_allows_the_header_and_credentials_for_listed_origins(
    client, settings
):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    settings.CORS_ALLOW_CREDENTIALS = True

    listed = client.options(
        REFRESH,
        HTTP_ORIGIN="https://app.example.com",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type,x-token-transport",
    )
    other = client.options(
        REFRESH,
        HTTP_ORIGIN="https://evil.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type,x-token-transport",
    )

    assert listed["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert listed["Access-Control-Allow-Credentials"] == "true"
    assert "x-token-transport" in listed["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Origin" not in other


# ---------------------------------------------------------------------------
# Clearing answers
# ---------------------------------------------------------------------------
def test_cookie_signout_ends_the_session_and_clears_the_cookie(client, user):
    cookie_sign_in(client, user)
    token = held(client)

    response = client.post(SIGNOUT, {}, format="json", **COOKIE)

    assert response.status_code == 204
    assert_cleared(response)
    assert client.get(ME).status_code == 401
    present(client, token)
    assert cookie_refresh(client).status_code == 401


def test_cookie_signout_still_needs_the_bearer_token(client, user):
    cookie_sign_in(client, user)
    client.credentials()

    response = client.post(SIGNOUT, {}, format="json", **COOKIE)

    assert response.status_code == 401
    assert cookie_refresh(client).status_code == 200


def test_cookie_signout_with_a_body_token_is_400(client, user):
    cookie_sign_in(client, user)

    response = client.post(
        SIGNOUT, {"refresh_token": held(client)}, format="json", **COOKIE
    )

    assert response.status_code == 400
    assert cookie_refresh(client).status_code == 200


def test_cookie_signout_without_the_cookie_ends_the_access_tokens_session(client, user):
    cookie_sign_in(client, user)
    del client.cookies[SECURE_NAME]

    response = client.post(SIGNOUT, {}, format="json", **COOKIE)

    assert response.status_code == 204
    assert client.get(ME).status_code == 401
    assert not TokenSession.objects.filter(revoked_at__isnull=True).exists()


def test_cookie_signout_of_someone_elses_cookie_is_refused(client, user, other_user):
    cookie_sign_in(client, user)
    thief = APIClient()
    cookie_sign_in(thief, other_user)
    present(thief, held(client))

    response = thief.post(SIGNOUT, {}, format="json", **COOKIE)

    assert response.status_code == 400
    assert cookie_refresh(client).status_code == 200


def test_signout_all_clears_the_cookie(client, user):
    cookie_sign_in(client, user)

    response = client.post(SIGNOUT_ALL)

    assert response.status_code == 204
    assert_cleared(response)


def test_deleting_ones_own_current_session_clears_the_cookie(client, user):
    cookie_sign_in(client, user)
    session = TokenSession.objects.get()

    response = client.delete(f"{SESSIONS}/{session.pk}")

    assert response.status_code == 204
    assert_cleared(response)


def test_deleting_another_session_leaves_the_cookie_alone(client, user):
    cookie_sign_in(client, user)
    other = sign_in(user)
    other_session = TokenSession.objects.get(transport="body")

    response = client.delete(f"{SESSIONS}/{other_session.pk}")

    assert response.status_code == 204
    assert SECURE_NAME not in response.cookies
    assert other["refresh_token"]


def test_a_401_from_a_cookie_refresh_clears_the_cookie(client, user):
    cookie_sign_in(client, user)
    # Signed out from elsewhere: the owner's other device ends this session.
    elsewhere = bearer_client(sign_in(user)["access_token"])
    sid = TokenSession.objects.get(transport="cookie").pk
    assert elsewhere.delete(f"{SESSIONS}/{sid}").status_code == 204

    response = cookie_refresh(client)

    assert response.status_code == 401
    assert_cleared(response)


@pytest.mark.parametrize("value", [None, "", "not-a-token"])
def test_a_missing_or_broken_cookie_is_a_401_that_clears_it(client, db, value):
    if value is not None:
        present(client, value)

    response = cookie_refresh(client)

    assert response.status_code == 401
    assert_cleared(response)


# ---------------------------------------------------------------------------
# Reuse and the two-tab conflict
# ---------------------------------------------------------------------------
def test_reuse_detection_fires_through_the_cookie(client, user, clock):
    cookie_sign_in(client, user)
    stolen = held(client)
    assert cookie_refresh(client).status_code == 200
    current = held(client)
    clock.shift(timedelta(seconds=11))

    present(client, stolen)
    response = cookie_refresh(client)

    assert response.status_code == 401
    assert_cleared(response)
    assert AuthEvent.objects.filter(user=user, type="token_reuse").exists()
    assert not TokenSession.objects.filter(revoked_at__isnull=True).exists()
    present(client, current)
    assert cookie_refresh(client).status_code == 401


def test_a_token_just_rotated_is_a_conflict_through_the_cookie(client, user, clock):
    cookie_sign_in(client, user)
    first_tab = held(client)
    assert cookie_refresh(client).status_code == 200
    current = held(client)
    clock.shift(timedelta(seconds=10))

    present(client, first_tab)
    response = cookie_refresh(client)

    assert response.status_code == 409
    assert response.json()["code"] == "refresh_conflict"
    assert SECURE_NAME not in response.cookies
    assert not AuthEvent.objects.filter(type="token_reuse").exists()
    # Nothing revoked: the tab that won keeps going.
    present(client, current)
    assert cookie_refresh(client).status_code == 200


def test_a_token_just_rotated_is_a_conflict_through_the_body(api_client, user, clock):
    tokens = sign_in(user, client=api_client)
    rotated = api_client.post(
        REFRESH, {"refresh_token": tokens["refresh_token"]}, format="json"
    ).json()
    clock.shift(timedelta(seconds=5))

    response = api_client.post(
        REFRESH, {"refresh_token": tokens["refresh_token"]}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["code"] == "refresh_conflict"
    second = api_client.post(
        REFRESH, {"refresh_token": rotated["refresh_token"]}, format="json"
    )
    assert second.status_code == 200


def test_the_conflict_grace_ends_after_ten_seconds(api_client, user, clock):
    tokens = sign_in(user, client=api_client)
    api_client.post(REFRESH, {"refresh_token": tokens["refresh_token"]}, format="json")
    clock.shift(timedelta(seconds=10, milliseconds=1))

    response = api_client.post(
        REFRESH, {"refresh_token": tokens["refresh_token"]}, format="json"
    )

    assert response.status_code == 401
    assert AuthEvent.objects.filter(user=user, type="token_reuse").exists()


def test_only_the_last_superseded_token_is_a_conflict(api_client, user):
    tokens = sign_in(user, client=api_client)
    second = api_client.post(
        REFRESH, {"refresh_token": tokens["refresh_token"]}, format="json"
    ).json()
    api_client.post(REFRESH, {"refresh_token": second["refresh_token"]}, format="json")

    response = api_client.post(
        REFRESH, {"refresh_token": tokens["refresh_token"]}, format="json"
    )

    assert response.status_code == 401
    assert AuthEvent.objects.filter(user=user, type="token_reuse").exists()


@pytest.mark.parametrize("revoke", ["signout_all", "change_password", "delete"])
def test_a_token_killed_by_revocation_is_401_not_a_conflict(client, user, revoke):
    cookie_sign_in(client, user)
    before = held(client)
    refreshed = cookie_refresh(client)
    assert refreshed.status_code == 200
    current = held(client)
    # Revoked through another client, so this one's cookie jar keeps the tokens.
    bearer = bearer_client(refreshed.json()["access_token"])
    if revoke == "signout_all":
        bearer.post(SIGNOUT_ALL)
    elif revoke == "change_password":
        bearer.post(
            CHANGE,
            {"old_password": PASSWORD, "new_password": "An0ther-long-passphrase!"},
            format="json",
        )
    else:
        bearer.delete(f"{SESSIONS}/{TokenSession.objects.get().pk}")

    for token in (before, current):
        present(client, token)
        response = cookie_refresh(client)
        assert response.status_code == 401
        assert_cleared(response)


# ---------------------------------------------------------------------------
# Every sign-in door
# ---------------------------------------------------------------------------
def test_two_step_sign_in_takes_the_transport_of_signin_mfa(client, user):
    secret = enable_totp(user)
    first = client.post(
        SIGNIN, {"email": user.email, "password": PASSWORD}, format="json"
    )
    assert first.status_code == 202

    response = client.post(
        SIGNIN_MFA,
        {"mfa_token": first.json()["mfa_token"], "code": totp_code(secret)},
        format="json",
        **COOKIE,
    )

    assert response.status_code == 200, response.content
    assert "refresh_token" not in response.json()
    assert response.cookies[SECURE_NAME]["httponly"] is True
    assert TokenSession.objects.get().transport == "cookie"


def test_header_on_the_first_step_only_gives_a_body_session(client, user):
    secret = enable_totp(user)
    first = client.post(
        SIGNIN, {"email": user.email, "password": PASSWORD}, format="json", **COOKIE
    )
    assert first.status_code == 202
    assert SECURE_NAME not in first.cookies

    response = client.post(
        SIGNIN_MFA,
        {"mfa_token": first.json()["mfa_token"], "code": totp_code(secret)},
        format="json",
    )

    assert "refresh_token" in response.json()
    assert TokenSession.objects.get().transport == "body"


def test_code_sign_in_with_the_header_starts_a_cookie_session(client, user, mailoutbox):
    code_token = client.post(CODE_REQUEST, {"email": user.email}, format="json").json()[
        "code_token"
    ]

    response = client.post(
        SIGNIN_CODE,
        {"code_token": code_token, "code": emailed_code(mailoutbox[-1])},
        format="json",
        **COOKIE,
    )

    assert response.status_code == 200, response.content
    assert "refresh_token" not in response.json()
    assert response.cookies[SECURE_NAME].value
    assert cookie_refresh(client).status_code == 200
