"""Passkeys through the API: options, registration, the list, renaming and
removal, driven by a software authenticator as an SPA would drive a browser."""

from datetime import timedelta

import pytest
import time_machine
from rest_framework.test import APIClient

from accounts.models import Authenticator, AuthEvent
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import (
    ENROL_CODE,
    ME,
    MFA,
    emailed_code,
    enable_totp,
    signed_in,
    stale_by,
)
from accounts.tests.passkey_helpers import (
    OPTIONS,
    PASSKEYS,
    options,
    passkey_url,
    refreshed,
    register,
    registered,
    software_authenticator,
)
from accounts.tests.webauthn_authenticator import b64url, unb64url

pytestmark = pytest.mark.django_db


@pytest.fixture
def session(user):
    """(client, tokens) of a fresh password sign-in of `user`."""
    return signed_in(user)


@pytest.fixture
def authenticator():
    return software_authenticator()


def with_passkey(session, authenticator) -> dict:
    """Register a first passkey in `session` and move the session's client to
    its level-2 tokens; the passkey object."""
    client, tokens = session
    passkey = registered(client, authenticator)
    refreshed(client, tokens)
    return passkey


# Options -------------------------------------------------------------------
def test_register_options_ask_for_a_discoverable_verified_passkey(
    session, authenticator, user
):
    client, _ = session

    response = client.post(OPTIONS, {"purpose": "register"}, format="json")

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert set(body) == {"options", "challenge_token"}
    created = body["options"]
    assert created["rp"] == {"id": "id.example.com", "name": "Identity"}
    assert unb64url(created["user"]["id"]) == user.pk.bytes
    assert created["attestation"] == "none"
    assert created["authenticatorSelection"]["residentKey"] == "required"
    assert created["authenticatorSelection"]["userVerification"] == "required"
    assert created["excludeCredentials"] == []
    assert len(unb64url(created["challenge"])) >= 16


def test_register_options_exclude_the_accounts_passkeys(session, authenticator):
    client, _ = session
    with_passkey(session, authenticator)
    (held,) = authenticator.credentials

    excluded = options(client, "register")["options"]["excludeCredentials"]

    assert [item["id"] for item in excluded] == [b64url(held.credential_id)]
    assert excluded[0]["type"] == "public-key"


@pytest.mark.parametrize("purpose", ["register", "reauth"])
def test_register_and_reauth_options_need_a_bearer_token(purpose):
    response = APIClient().post(OPTIONS, {"purpose": purpose}, format="json")

    assert response.status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"purpose": "login"},
        {"purpose": "mfa"},
        {"purpose": "signin", "mfa_token": "x"},
        {"purpose": "signin", "user": "admin"},
    ],
)
def test_bad_options_requests_are_400(body):
    response = APIClient().post(OPTIONS, body, format="json")

    assert response.status_code == 400


def test_register_options_need_a_recent_sign_in(user):
    with time_machine.travel("2030-01-01 12:00:00Z", tick=False) as clock:
        client, _ = signed_in(user)
        clock.shift(timedelta(seconds=stale_by()))

        response = client.post(OPTIONS, {"purpose": "register"}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "reauthentication_required"


# Registration --------------------------------------------------------------
def test_first_passkey_brings_recovery_codes_and_raises_the_session(
    session, authenticator, user, mailoutbox
):
    client, tokens = session

    response = register(client, authenticator, name="  Work   laptop ")

    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert set(body) == {"id", "name", "created_at", "last_used_at", "recovery_codes"}
    assert body["name"] == "Work laptop"
    assert body["last_used_at"] is None
    assert len(body["recovery_codes"]) == 10
    stored = Authenticator.objects.get(pk=body["id"])
    assert stored.kind == "passkey" and stored.user == user
    assert stored.credential_id == b64url(authenticator.credentials[0].credential_id)
    assert stored.transports == ["internal", "hybrid"]
    assert user.auth_events.filter(type=AuthEvent.Type.FACTOR_ADDED).exists()
    assert "Work laptop" in mailoutbox[-1].body
    # The registering session is at level 2 from its next refresh on.
    assert refreshed(client, tokens)["access_token"]
    assert client.get(MFA).json()["passkeys"][0]["name"] == "Work laptop"


def test_first_passkey_ends_every_other_session(session, authenticator, user):
    other, _ = signed_in(user)

    with_passkey(session, authenticator)

    assert other.get(ME).status_code == 401
    assert session[0].get(ME).status_code == 200


def test_a_later_passkey_leaves_the_recovery_codes_alone(session, authenticator, user):
    client, _ = session
    first = with_passkey(session, authenticator)
    before = set(user.recovery_codes.values_list("digest", flat=True))

    second = registered(client, software_authenticator())

    assert "recovery_codes" not in second
    assert set(user.recovery_codes.values_list("digest", flat=True)) == before
    listed = client.get(PASSKEYS).json()
    assert [p["id"] for p in listed] == [first["id"], second["id"]]


def test_the_default_name_comes_from_a_known_aaguid(session):
    client, _ = session
    icloud = software_authenticator(
        aaguid=bytes.fromhex("fbfc3007154e4ecc8c0b6e020557d7bd")
    )

    assert registered(client, icloud)["name"] == "iCloud Keychain"
    refreshed(client, session[1])
    assert registered(client, software_authenticator())["name"] == "Passkey"


def test_a_credential_registered_to_another_account_is_refused(authenticator):
    owner_client, _ = signed_in(UserFactory())
    registered(owner_client, authenticator)
    (credential,) = authenticator.credentials
    thief_client, _ = signed_in(UserFactory())

    response = register(thief_client, authenticator, create={"credential": credential})

    assert response.status_code == 400
    assert list(response.json()) == ["credential"]
    assert Authenticator.objects.filter(kind="passkey").count() == 1


@pytest.mark.parametrize(
    "broken",
    [
        {"origin": "https://id.example.com.evil.test"},
        {"origin": "http://id.example.com"},
        {"rp_id": "example.com"},
        {"user_verified": False},
        {"user_present": False},
    ],
)
def test_an_attestation_that_does_not_verify_is_400_credential(
    session, authenticator, broken
):
    client, _ = session

    response = register(client, authenticator, create=broken)

    assert response.status_code == 400
    assert list(response.json()) == ["credential"]
    assert not Authenticator.objects.exists()


def test_a_registration_challenge_works_once(session, authenticator):
    client, _ = session
    started = options(client, "register")
    first = authenticator.create(started["options"])
    assert (
        client.post(
            PASSKEYS,
            {"challenge_token": started["challenge_token"], "credential": first},
            format="json",
        ).status_code
        == 201
    )
    refreshed(client, session[1])
    again = software_authenticator().create(started["options"])

    replay = client.post(
        PASSKEYS,
        {"challenge_token": started["challenge_token"], "credential": again},
        format="json",
    )

    assert replay.status_code == 400
    assert list(replay.json()) == ["credential"]


def test_a_challenge_of_another_session_or_purpose_is_refused(
    session, authenticator, user
):
    client, _ = session
    other_session, _ = signed_in(user)
    elsewhere = options(other_session, "register")
    reauth = options(client, "reauth")
    signin = options(APIClient(), "signin")

    for started in (elsewhere, reauth, signin):
        credential = authenticator.create(elsewhere["options"])
        response = client.post(
            PASSKEYS,
            {"challenge_token": started["challenge_token"], "credential": credential},
            format="json",
        )
        assert response.status_code == 400, started
        assert list(response.json()) == ["credential"]


def test_registration_needs_a_verified_address(settings, authenticator):
    settings.EMAIL_VERIFICATION = "optional"
    client, _ = signed_in(UserFactory(email_verified=False))

    response = client.post(OPTIONS, {"purpose": "register"}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "email_unverified"


def test_registration_checks_the_recent_sign_in_again(user, authenticator):
    with time_machine.travel("2030-01-01 12:00:00Z", tick=False) as clock:
        client, _ = signed_in(user)
        started = options(client, "register")
        credential = authenticator.create(started["options"])
        clock.shift(timedelta(seconds=stale_by()))

        response = client.post(
            PASSKEYS,
            {"challenge_token": started["challenge_token"], "credential": credential},
            format="json",
        )

    assert response.status_code == 403
    assert not Authenticator.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"challenge_token": "x"},
        {"credential": {"id": "x"}},
        {"challenge_token": "x", "credential": "not an object"},
        {"challenge_token": "x", "credential": {}},
        {"challenge_token": "x", "credential": {"id": "x"}, "kind": "totp"},
    ],
)
def test_malformed_registration_bodies_are_400(session, body):
    client, _ = session

    assert client.post(PASSKEYS, body, format="json").status_code == 400


def test_garbage_credentials_are_400_credential(session):
    client, _ = session
    started = options(client, "register")

    for credential in (
        {"id": "AAAA", "rawId": "AAAA", "type": "public-key", "response": {}},
        {
            "id": "AAAA",
            "rawId": "AAAA",
            "type": "public-key",
            "response": {"clientDataJSON": "%%%", "attestationObject": "AAAA"},
        },
    ):
        response = client.post(
            PASSKEYS,
            {"challenge_token": started["challenge_token"], "credential": credential},
            format="json",
        )
        assert response.status_code == 400
        assert list(response.json()) == ["credential"]


# Confinement (MFA_REQUIRED) ------------------------------------------------
def test_a_confined_session_enrols_a_passkey_with_the_emailed_code(
    settings, user, authenticator, mailoutbox
):
    settings.MFA_REQUIRED = "all"
    client, tokens = signed_in(user)
    assert client.get("/api/v1/users/me/export").status_code == 403

    missing = register(client, authenticator)
    assert missing.status_code == 400 and "email_code" in missing.json()
    assert client.post(ENROL_CODE, format="json").status_code == 200
    wrong = register(client, authenticator, email_code="AAAAAA")
    assert wrong.status_code == 400 and "email_code" in wrong.json()
    code = emailed_code(mailoutbox[0])

    response = register(client, authenticator, email_code=code)

    assert response.status_code == 201
    assert len(response.json()["recovery_codes"]) == 10
    refreshed(client, tokens)
    assert client.get(ME).status_code == 200


# The list, renaming --------------------------------------------------------
def test_list_and_mfa_status_show_names_and_dates_and_no_key_material(
    session, authenticator
):
    client, _ = session
    passkey = with_passkey(session, authenticator)
    stored = Authenticator.objects.get(pk=passkey["id"])

    listed = client.get(PASSKEYS)
    status = client.get(MFA)

    assert listed.status_code == 200
    assert listed.json() == [
        {
            "id": passkey["id"],
            "name": "Passkey",
            "created_at": passkey["created_at"],
            "last_used_at": None,
        }
    ]
    assert status.json()["passkeys"] == listed.json()
    assert status.json()["totp"]["enabled"] is False
    for response in (listed, status):
        assert stored.credential_id not in response.content.decode()
        assert b64url(bytes(stored.public_key)) not in response.content.decode()


def test_renaming_needs_no_recent_sign_in_and_is_announced(
    user, authenticator, mailoutbox
):
    with time_machine.travel("2030-01-01 12:00:00Z", tick=False) as clock:
        session = signed_in(user)
        passkey = with_passkey(session, authenticator)
        clock.shift(timedelta(seconds=stale_by()))

        response = session[0].patch(
            passkey_url(passkey["id"]), {"name": "Phone"}, format="json"
        )

    assert response.status_code == 200
    assert response.json()["name"] == "Phone"
    assert user.auth_events.filter(type=AuthEvent.Type.PASSKEY_RENAMED).exists()
    assert "renamed" in mailoutbox[-1].subject
    assert "Phone" in mailoutbox[-1].body


@pytest.mark.parametrize(
    "body", [{}, {"name": ""}, {"name": "   "}, {"name": "x" * 101}]
)
def test_a_blank_or_overlong_name_is_400(session, authenticator, body):
    passkey = with_passkey(session, authenticator)

    response = session[0].patch(passkey_url(passkey["id"]), body, format="json")

    assert response.status_code == 400


def test_another_users_passkey_is_404(session, authenticator):
    theirs = with_passkey(signed_in(UserFactory()), software_authenticator())
    client, _ = session
    with_passkey(session, authenticator)

    for response in (
        client.patch(passkey_url(theirs["id"]), {"name": "Mine"}, format="json"),
        client.delete(passkey_url(theirs["id"])),
        client.delete(passkey_url("not-a-uuid")),
        client.patch(passkey_url(theirs["id"].upper()), {"name": "x"}, format="json"),
    ):
        assert response.status_code == 404
    assert Authenticator.objects.get(pk=theirs["id"]).name == "Passkey"


# Removal -------------------------------------------------------------------
def test_removing_the_last_passkey_takes_the_recovery_codes(
    session, authenticator, user, mailoutbox
):
    client, _ = session
    passkey = with_passkey(session, authenticator)

    response = client.delete(passkey_url(passkey["id"]))

    assert response.status_code == 204
    assert not user.authenticators.exists()
    assert not user.recovery_codes.exists()
    assert user.auth_events.filter(type=AuthEvent.Type.FACTOR_REMOVED).exists()
    assert mailoutbox[-1].subject.startswith("A second factor was removed")


def test_removing_one_of_two_factors_keeps_the_recovery_codes(
    session, authenticator, user
):
    client, _ = session
    passkey = with_passkey(session, authenticator)
    enable_totp(user)

    assert client.delete(passkey_url(passkey["id"])).status_code == 204
    assert user.recovery_codes.count() == 10


def test_removal_needs_a_recent_sign_in(user, authenticator):
    with time_machine.travel("2030-01-01 12:00:00Z", tick=False) as clock:
        session = signed_in(user)
        passkey = with_passkey(session, authenticator)
        clock.shift(timedelta(seconds=stale_by()))

        response = session[0].delete(passkey_url(passkey["id"]))

    assert response.status_code == 403
    assert response.json()["code"] == "reauthentication_required"
    assert user.authenticators.exists()


@pytest.mark.parametrize(
    ("scope", "is_staff"), [("all", False), ("staff", True), ("all", True)]
)
def test_the_last_factor_of_an_account_mfa_required_covers_stays(
    settings, authenticator, mailoutbox, scope, is_staff
):
    settings.MFA_REQUIRED = scope
    user = UserFactory(is_staff=is_staff)
    client, tokens = signed_in(user)
    client.post(ENROL_CODE, format="json")
    passkey = registered(client, authenticator, email_code=emailed_code(mailoutbox[0]))
    refreshed(client, tokens)

    response = client.delete(passkey_url(passkey["id"]))

    assert response.status_code == 409
    assert response.json()["code"] == "mfa_required"
    assert user.authenticators.count() == 1
    second = registered(client, software_authenticator())
    assert client.delete(passkey_url(second["id"])).status_code == 204
