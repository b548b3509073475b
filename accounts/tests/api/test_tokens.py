import base64
import hashlib
import hmac
import json
from pathlib import Path

import jwt
import pytest
import time_machine
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings as django_settings
from django.utils import timezone

from accounts.tests.helpers import ME, REFRESH, get_me, write_key_pair

pytestmark = pytest.mark.django_db


def claims(token):
    return jwt.decode(token, options={"verify_signature": False})


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_access_token_carries_the_contract_claims(tokens, user):
    access = claims(tokens["access_token"])

    assert access["sub"] == str(user.pk)
    assert access["token_type"] == "access"
    assert access["exp"] - access["iat"] == 15 * 60
    assert {"jti", "sid"} <= set(access)


def test_tokens_name_this_service_as_issuer_and_audience(tokens):
    for token in (tokens["access_token"], tokens["refresh_token"]):
        payload = claims(token)

        assert payload["iss"] == "https://id.example.com"
        assert payload["aud"] == "https://id.example.com"


def resigned(token, **changes):
    """The token's claims with `changes` (None drops a claim), signed again with
    the service's own key: only the claims are wrong, never the signature."""
    payload = {**claims(token), **changes}
    payload = {name: value for name, value in payload.items() if value is not None}
    return jwt.encode(
        payload,
        django_settings.JWT_SIGNING_KEY,
        algorithm="HS256",
        headers=jwt.get_unverified_header(token),
    )


def test_resigned_token_with_unchanged_claims_still_works(api_client, tokens):
    response = get_me(api_client, resigned(tokens["access_token"]))

    assert response.status_code == 200


@pytest.mark.parametrize(
    "changes",
    [
        {"iss": "https://other.example.com"},
        {"aud": "https://other.example.com"},
        {"iss": None},
        {"aud": None},
    ],
)
def test_access_token_with_a_wrong_or_missing_issuer_or_audience_is_401(
    api_client, tokens, changes
):
    response = get_me(api_client, resigned(tokens["access_token"], **changes))

    assert response.status_code == 401


@pytest.mark.parametrize("changes", [{"iss": "https://other.example"}, {"aud": None}])
def test_refresh_token_with_a_wrong_or_missing_issuer_or_audience_is_401(
    api_client, tokens, changes
):
    response = api_client.post(
        REFRESH,
        {"refresh_token": resigned(tokens["refresh_token"], **changes)},
        format="json",
    )

    assert response.status_code == 401


def test_tokens_from_a_deployment_at_another_url_are_401(api_client, tokens, settings):
    settings.SITE_URL = "https://staging.example.com"

    response = get_me(api_client, tokens["access_token"])

    assert response.status_code == 401


def test_access_token_lifetime_follows_the_setting(
    api_client, user, password, settings
):
    settings.ACCESS_TOKEN_EXPIRE_MINUTES = 5

    body = api_client.post(
        "/api/v1/auth/signin",
        {"email": user.email, "password": password},
        format="json",
    ).json()

    access = claims(body["access_token"])
    assert access["exp"] - access["iat"] == 300
    assert body["expires_in"] == 300


def test_refresh_token_lifetime_follows_the_setting(tokens):
    refresh = claims(tokens["refresh_token"])

    assert refresh["token_type"] == "refresh"
    assert refresh["exp"] - refresh["iat"] == 7 * 24 * 3600


def test_expired_access_token_is_401(api_client, tokens):
    with time_machine.travel(timezone.now() + timezone.timedelta(minutes=16)):
        response = get_me(api_client, tokens["access_token"])

    assert response.status_code == 401


def test_tampered_access_token_is_401(api_client, tokens, user):
    header, payload, signature = tokens["access_token"].split(".")
    forged = b64(
        {
            **claims(tokens["access_token"]),
            "sub": "00000000-0000-0000-0000-000000000000",
        }
    )

    response = get_me(api_client, f"{header}.{forged}.{signature}")

    assert response.status_code == 401


def test_alg_none_token_is_401(api_client, tokens):
    unsigned = (
        b64({"alg": "none", "typ": "JWT"})
        + "."
        + b64(claims(tokens["access_token"]))
        + "."
    )

    response = get_me(api_client, unsigned)

    assert response.status_code == 401


def test_token_signed_with_another_key_is_401(api_client, tokens):
    header = jwt.get_unverified_header(tokens["access_token"])
    forged = jwt.encode(
        claims(tokens["access_token"]), "another-key-" * 4, headers=header
    )

    response = get_me(api_client, forged)

    assert response.status_code == 401


def test_refresh_token_is_refused_as_an_access_token(api_client, tokens):
    response = get_me(api_client, tokens["refresh_token"])

    assert response.status_code == 401


def test_access_token_is_refused_as_a_refresh_token(api_client, tokens):
    response = api_client.post(
        REFRESH, {"refresh_token": tokens["access_token"]}, format="json"
    )

    assert response.status_code == 401


@pytest.mark.parametrize("header", ["Bearer", "Bearer a b", "Token abc", "Bearer ..."])
def test_malformed_authorization_headers_are_401(api_client, header):
    response = api_client.get(ME, HTTP_AUTHORIZATION=header)

    assert response.status_code == 401


def test_token_of_a_hard_deleted_user_is_401(api_client, tokens, user):
    user.delete()

    response = get_me(api_client, tokens["access_token"])

    assert response.status_code == 401


def test_jwks_is_empty_with_hmac_signing(api_client):
    response = api_client.get("/.well-known/jwks.json")

    assert response.status_code == 200
    assert response.json() == {"keys": []}


@pytest.fixture
def rs256(settings, tmp_path):
    private, public = write_key_pair(tmp_path)
    settings.JWT_ALGORITHM = "RS256"
    settings.JWT_PRIVATE_KEY_FILE = private
    settings.JWT_PUBLIC_KEY_FILE = public
    return Path(public)


def test_rs256_tokens_verify_against_the_published_jwks(
    api_client, user, password, rs256
):
    body = api_client.post(
        "/api/v1/auth/signin",
        {"email": user.email, "password": password},
        format="json",
    ).json()
    jwks = api_client.get("/.well-known/jwks.json").json()

    header = jwt.get_unverified_header(body["access_token"])
    (key,) = [k for k in jwks["keys"] if k["kid"] == header["kid"]]
    decoded = jwt.decode(
        body["access_token"],
        jwt.PyJWK(key).key,
        algorithms=["RS256"],
        audience="https://id.example.com",
        issuer="https://id.example.com",
    )
    assert header["alg"] == "RS256"
    assert decoded["sub"] == str(user.pk)
    assert get_me(api_client, body["access_token"]).status_code == 200
    assert "d" not in key  # the private part is never published


def test_hs256_token_signed_with_the_rs256_public_key_is_refused(
    api_client, tokens, rs256
):
    # Algorithm confusion: the public key is public, so it must not work as an
    # HMAC secret.
    kid = api_client.get("/.well-known/jwks.json").json()["keys"][0]["kid"]
    token = _hmac_with_public_key(
        claims(tokens["access_token"]), rs256.read_bytes(), kid
    )

    response = get_me(api_client, token)

    assert response.status_code == 401


def _hmac_with_public_key(payload, public_pem, kid):
    signing_input = b64({"alg": "HS256", "typ": "JWT", "kid": kid}) + "." + b64(payload)
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return (
        signing_input + "." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()
    )


def test_es256_tokens_work_with_an_ec_key_pair(
    api_client, user, password, settings, tmp_path
):
    private, public = write_key_pair(
        tmp_path, private_key=ec.generate_private_key(ec.SECP256R1())
    )
    settings.JWT_ALGORITHM = "ES256"
    settings.JWT_PRIVATE_KEY_FILE = private
    settings.JWT_PUBLIC_KEY_FILE = public

    body = api_client.post(
        "/api/v1/auth/signin",
        {"email": user.email, "password": password},
        format="json",
    ).json()

    assert jwt.get_unverified_header(body["access_token"])["alg"] == "ES256"
    assert get_me(api_client, body["access_token"]).status_code == 200
    assert api_client.get("/.well-known/jwks.json").json()["keys"][0]["kty"] == "EC"


def _with_header(token, **header):
    """The token's claims signed again with the service's own key under
    `header` (None drops a header field)."""
    fields = {**jwt.get_unverified_header(token), **header}
    fields = {name: value for name, value in fields.items() if value is not None}
    key = django_settings.JWT_SIGNING_KEY
    return jwt.encode(claims(token), key, algorithm="HS256", headers=fields)


@pytest.mark.parametrize("header", [{"kid": "another-key"}, {"kid": None}])
def test_a_token_must_name_the_key_that_verifies_it(api_client, tokens, header):
    # Read in one pass, the header is checked after the signature: a token
    # signed with the right key under another key's name is still refused.
    assert get_me(api_client, _with_header(tokens["access_token"])).status_code == 200

    response = get_me(api_client, _with_header(tokens["access_token"], **header))

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"
