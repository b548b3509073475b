"""Driving the passkey API with the software authenticator: each helper is one
step an SPA takes (the request bodies are the README's round-trip)."""

import jwt
from django.conf import settings
from rest_framework.test import APIClient

from accounts.tests.helpers import REFRESH, bearer_client
from accounts.tests.webauthn_authenticator import SoftwareAuthenticator

OPTIONS = "/api/v1/auth/webauthn/options"
PASSKEYS = "/api/v1/auth/passkeys"
PASSKEY_SIGNIN = "/api/v1/auth/passkeys/signin"


def passkey_url(passkey_id) -> str:
    return f"{PASSKEYS}/{passkey_id}"


def software_authenticator(**kwargs) -> SoftwareAuthenticator:
    """An authenticator in a browser on the site's own pages."""
    return SoftwareAuthenticator(origin=settings.SITE_URL, **kwargs)


def options(client, purpose: str, **body) -> dict:
    """{"options", "challenge_token"} for `purpose`; asserts a 200."""
    response = client.post(OPTIONS, {"purpose": purpose, **body}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def register(client, authenticator, *, create=None, **body):
    """Options for purpose register, navigator.credentials.create(), POST
    /auth/passkeys: the response. `create` are keyword arguments for the
    authenticator (to break the answer on purpose)."""
    started = options(client, "register")
    credential = authenticator.create(started["options"], **(create or {}))
    return client.post(
        PASSKEYS,
        {
            "challenge_token": started["challenge_token"],
            "credential": credential,
            **body,
        },
        format="json",
    )


def registered(client, authenticator, **body) -> dict:
    response = register(client, authenticator, **body)
    assert response.status_code == 201, response.content
    return response.json()


def sign_in_with(authenticator, *, client=None, get=None):
    """Passwordless sign-in from an anonymous client: the response."""
    client = client or APIClient()
    started = options(client, "signin")
    credential = authenticator.get(started["options"], **(get or {}))
    return client.post(
        PASSKEY_SIGNIN,
        {"challenge_token": started["challenge_token"], "credential": credential},
        format="json",
    )


def second_factor_with(authenticator, mfa_token: str, *, client=None, get=None):
    """The passkey answer to a 202 sign-in: the /auth/signin/mfa response."""
    client = client or APIClient()
    started = options(client, "mfa", mfa_token=mfa_token)
    credential = authenticator.get(started["options"], **(get or {}))
    return client.post(
        "/api/v1/auth/signin/mfa",
        {
            "mfa_token": mfa_token,
            "challenge_token": started["challenge_token"],
            "credential": credential,
        },
        format="json",
    )


def reauthenticate_with(authenticator, client, *, get=None):
    started = options(client, "reauth")
    credential = authenticator.get(started["options"], **(get or {}))
    return client.post(
        "/api/v1/auth/reauthenticate",
        {"challenge_token": started["challenge_token"], "credential": credential},
        format="json",
    )


def refreshed(client, tokens: dict) -> dict:
    """Refresh the session of `tokens` (after a first factor raised it to
    level 2) and make `client` use the new access token."""
    response = APIClient().post(
        REFRESH, {"refresh_token": tokens["refresh_token"]}, format="json"
    )
    assert response.status_code == 200, response.content
    new = response.json()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {new['access_token']}")
    return new


def claims(access_token: str) -> dict:
    return jwt.decode(access_token, options={"verify_signature": False})


def client_of_tokens(tokens: dict):
    return bearer_client(tokens["access_token"])
