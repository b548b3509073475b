"""Rotating the JWT signing key: tokens signed with the previous key keep working
until JWT_PREVIOUS_KEYS_UNTIL, new tokens are signed with the current key, and
the JWKS publishes the previous public key only during the grace period."""

from datetime import timedelta

import jwt
import pytest
import time_machine
from django.core.checks import run_checks
from django.utils import timezone

from accounts.checks import TAG
from accounts.tests.helpers import JWKS, REFRESH, get_me, sign_in, write_key_pair

pytestmark = pytest.mark.django_db

OLD_KEY = "old-signing-key-" + "o" * 32
NEW_KEY = "new-signing-key-" + "n" * 32


def kid(token: str) -> str:
    return jwt.get_unverified_header(token)["kid"]


def in_minutes(minutes: int):
    return timezone.now() + timedelta(minutes=minutes)


def config_errors() -> list[str]:
    """The configuration errors about the JWT settings (the test settings run
    with the development SECRET_KEY, which another check refuses)."""
    return [
        error.msg
        for error in run_checks(tags=[TAG])
        if error.is_serious() and error.msg.startswith("JWT_")
    ]


# ---------------------------------------------------------------------------
# HS256
# ---------------------------------------------------------------------------
@pytest.fixture
def old_hs256_tokens(api_client, user, password, settings):
    """Tokens signed with OLD_KEY; then the service rotates to NEW_KEY."""
    settings.JWT_ALGORITHM = "HS256"
    settings.JWT_SIGNING_KEY = OLD_KEY
    tokens = sign_in(user, password, client=api_client)
    settings.JWT_SIGNING_KEY = NEW_KEY
    return tokens


def test_hs256_token_signed_with_the_previous_key_verifies_during_the_grace_period(
    api_client, old_hs256_tokens, settings
):
    settings.JWT_PREVIOUS_SIGNING_KEYS = [OLD_KEY]
    settings.JWT_PREVIOUS_KEYS_UNTIL = in_minutes(5).isoformat()

    response = get_me(api_client, old_hs256_tokens["access_token"])

    assert response.status_code == 200


def test_hs256_token_signed_with_the_previous_key_is_401_after_the_grace_period(
    api_client, old_hs256_tokens, settings
):
    settings.JWT_PREVIOUS_SIGNING_KEYS = [OLD_KEY]
    settings.JWT_PREVIOUS_KEYS_UNTIL = in_minutes(5).isoformat()
    assert get_me(api_client, old_hs256_tokens["access_token"]).status_code == 200

    # Still within the access token's own 15 minutes: only the grace period ends.
    with time_machine.travel(in_minutes(6)):
        response = get_me(api_client, old_hs256_tokens["access_token"])

    assert response.status_code == 401


def test_hs256_token_signed_with_a_replaced_key_is_401_without_a_grace_period(
    api_client, old_hs256_tokens
):
    response = get_me(api_client, old_hs256_tokens["access_token"])

    assert response.status_code == 401


def test_previous_key_is_ignored_without_an_end_to_the_grace_period(
    api_client, old_hs256_tokens, settings
):
    settings.JWT_PREVIOUS_SIGNING_KEYS = [OLD_KEY]

    response = get_me(api_client, old_hs256_tokens["access_token"])

    assert response.status_code == 401


def test_refresh_with_a_previous_key_token_returns_tokens_signed_with_the_current_key(
    api_client, old_hs256_tokens, settings
):
    settings.JWT_PREVIOUS_SIGNING_KEYS = [OLD_KEY]
    settings.JWT_PREVIOUS_KEYS_UNTIL = in_minutes(5).isoformat()

    response = api_client.post(
        REFRESH, {"refresh_token": old_hs256_tokens["refresh_token"]}, format="json"
    )

    assert response.status_code == 200
    fresh = response.json()
    assert kid(fresh["access_token"]) != kid(old_hs256_tokens["access_token"])
    assert kid(fresh["refresh_token"]) == kid(fresh["access_token"])
    with time_machine.travel(in_minutes(6)):
        assert get_me(api_client, fresh["access_token"]).status_code == 200


def test_refresh_with_a_previous_key_token_is_401_after_the_grace_period(
    api_client, old_hs256_tokens, settings
):
    settings.JWT_PREVIOUS_SIGNING_KEYS = [OLD_KEY]
    settings.JWT_PREVIOUS_KEYS_UNTIL = in_minutes(5).isoformat()

    with time_machine.travel(in_minutes(6)):
        response = api_client.post(
            REFRESH,
            {"refresh_token": old_hs256_tokens["refresh_token"]},
            format="json",
        )

    assert response.status_code == 401


def test_new_tokens_are_signed_with_the_current_key_during_the_grace_period(
    api_client, user, password, old_hs256_tokens, settings
):
    settings.JWT_PREVIOUS_SIGNING_KEYS = [OLD_KEY]
    settings.JWT_PREVIOUS_KEYS_UNTIL = in_minutes(5).isoformat()

    fresh = sign_in(user, password, client=api_client)

    jwt.decode(
        fresh["access_token"],
        NEW_KEY,
        algorithms=["HS256"],
        audience="https://id.example.com",
    )
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(
            fresh["access_token"],
            OLD_KEY,
            algorithms=["HS256"],
            audience="https://id.example.com",
        )


def test_hs256_jwks_stays_empty_during_the_grace_period(api_client, settings):
    settings.JWT_PREVIOUS_SIGNING_KEYS = [OLD_KEY]
    settings.JWT_PREVIOUS_KEYS_UNTIL = in_minutes(5).isoformat()

    response = api_client.get(JWKS)

    assert response.json() == {"keys": []}


# ---------------------------------------------------------------------------
# RS256
# ---------------------------------------------------------------------------
@pytest.fixture
def rotated_rs256(api_client, user, password, settings, tmp_path):
    """Tokens signed with key pair A; then the service rotates to key pair B with
    A's public key as the previous one, for five more minutes."""
    old_private, old_public = write_key_pair(tmp_path, "a")
    new_private, new_public = write_key_pair(tmp_path, "b")
    settings.JWT_ALGORITHM = "RS256"
    settings.JWT_PRIVATE_KEY_FILE = old_private
    settings.JWT_PUBLIC_KEY_FILE = old_public
    tokens = sign_in(user, password, client=api_client)
    settings.JWT_PRIVATE_KEY_FILE = new_private
    settings.JWT_PUBLIC_KEY_FILE = new_public
    settings.JWT_PREVIOUS_PUBLIC_KEY_FILES = [old_public]
    settings.JWT_PREVIOUS_KEYS_UNTIL = in_minutes(5).isoformat()
    return tokens


def test_rs256_token_signed_with_the_previous_key_verifies_during_the_grace_period(
    api_client, rotated_rs256
):
    response = get_me(api_client, rotated_rs256["access_token"])

    assert response.status_code == 200


def test_rs256_token_signed_with_the_previous_key_is_401_after_the_grace_period(
    api_client, rotated_rs256
):
    with time_machine.travel(in_minutes(6)):
        response = get_me(api_client, rotated_rs256["access_token"])

    assert response.status_code == 401


def test_rs256_new_tokens_are_signed_with_the_current_key(
    api_client, user, password, rotated_rs256
):
    fresh = sign_in(user, password, client=api_client)

    assert kid(fresh["access_token"]) != kid(rotated_rs256["access_token"])
    with time_machine.travel(in_minutes(6)):
        assert get_me(api_client, fresh["access_token"]).status_code == 200


def test_jwks_lists_the_current_and_previous_keys_during_the_grace_period(
    api_client, user, password, rotated_rs256
):
    fresh = sign_in(user, password, client=api_client)

    keys = api_client.get(JWKS).json()["keys"]

    assert [key["kid"] for key in keys] == [
        kid(fresh["access_token"]),
        kid(rotated_rs256["access_token"]),
    ]
    assert all("d" not in key for key in keys)  # never a private part


def test_jwks_lists_only_the_current_key_after_the_grace_period(
    api_client, user, password, rotated_rs256
):
    fresh = sign_in(user, password, client=api_client)

    with time_machine.travel(in_minutes(6)):
        keys = api_client.get(JWKS).json()["keys"]

    assert [key["kid"] for key in keys] == [kid(fresh["access_token"])]


def test_previous_key_verifies_against_the_published_jwks(api_client, rotated_rs256):
    keys = api_client.get(JWKS).json()["keys"]
    token = rotated_rs256["access_token"]

    (key,) = [key for key in keys if key["kid"] == kid(token)]

    assert jwt.decode(
        token,
        jwt.PyJWK(key).key,
        algorithms=["RS256"],
        audience="https://id.example.com",
    )["sub"]


# ---------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["next tuesday", "2030-13-01", "31/01/2030"])
def test_malformed_grace_period_end_is_refused_naming_it(settings, value):
    settings.JWT_PREVIOUS_KEYS_UNTIL = value

    errors = config_errors()

    assert len(errors) == 1
    assert errors[0].startswith("JWT_PREVIOUS_KEYS_UNTIL:")


def test_previous_keys_without_an_end_to_the_grace_period_are_refused(settings):
    settings.JWT_PREVIOUS_SIGNING_KEYS = [OLD_KEY]

    assert [e.split(":")[0] for e in config_errors()] == ["JWT_PREVIOUS_KEYS_UNTIL"]


def test_short_previous_signing_key_is_refused_naming_the_variable(settings):
    settings.JWT_PREVIOUS_SIGNING_KEYS = ["short"]
    settings.JWT_PREVIOUS_KEYS_UNTIL = "2030-01-31T12:00:00Z"

    assert [e.split(":")[0] for e in config_errors()] == ["JWT_PREVIOUS_SIGNING_KEYS"]


def test_missing_previous_public_key_file_is_refused_naming_the_variable(
    settings, tmp_path
):
    private, public = write_key_pair(tmp_path, "current")
    settings.JWT_ALGORITHM = "RS256"
    settings.JWT_PRIVATE_KEY_FILE = private
    settings.JWT_PUBLIC_KEY_FILE = public
    settings.JWT_PREVIOUS_PUBLIC_KEY_FILES = [str(tmp_path / "missing.pem")]
    settings.JWT_PREVIOUS_KEYS_UNTIL = "2030-01-31T12:00:00Z"

    assert [e.split(":")[0] for e in config_errors()] == [
        "JWT_PREVIOUS_PUBLIC_KEY_FILES"
    ]


def test_previous_private_key_in_place_of_a_public_one_is_refused(settings, tmp_path):
    private, public = write_key_pair(tmp_path, "current")
    old_private, _ = write_key_pair(tmp_path, "old")
    settings.JWT_ALGORITHM = "RS256"
    settings.JWT_PRIVATE_KEY_FILE = private
    settings.JWT_PUBLIC_KEY_FILE = public
    settings.JWT_PREVIOUS_PUBLIC_KEY_FILES = [old_private]
    settings.JWT_PREVIOUS_KEYS_UNTIL = "2030-01-31T12:00:00Z"

    assert [e.split(":")[0] for e in config_errors()] == [
        "JWT_PREVIOUS_PUBLIC_KEY_FILES"
    ]


def test_previous_signing_keys_with_an_rs_algorithm_are_refused(settings, tmp_path):
    private, public = write_key_pair(tmp_path, "current")
    settings.JWT_ALGORITHM = "RS256"
    settings.JWT_PRIVATE_KEY_FILE = private
    settings.JWT_PUBLIC_KEY_FILE = public
    settings.JWT_PREVIOUS_SIGNING_KEYS = [OLD_KEY]
    settings.JWT_PREVIOUS_KEYS_UNTIL = "2030-01-31T12:00:00Z"

    assert [e.split(":")[0] for e in config_errors()] == ["JWT_PREVIOUS_SIGNING_KEYS"]


def test_a_complete_rotation_configuration_passes(settings):
    settings.JWT_PREVIOUS_SIGNING_KEYS = [OLD_KEY]
    settings.JWT_PREVIOUS_KEYS_UNTIL = "2030-01-31T12:00:00+01:00"

    assert config_errors() == []
