"""Managing second factors through the API: TOTP set-up, confirmation and
removal, recovery codes, and what confirming a first factor does to sessions."""

import io
import logging
import re
import time

import jwt
import pytest
import time_machine
from django.test import Client
from rest_framework.test import APIClient

from accounts import codes, services
from accounts.assurance import Assurance
from accounts.models import Authenticator, AuthEvent, PendingStep, RecoveryCode
from accounts.observability.logs import JsonFormatter, RequestContextFilter
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.helpers import (
    ME,
    MFA,
    RECOVERY_CODES,
    REFRESH,
    TOTP,
    TOTP_CONFIRM,
    TOTP_SETUP,
    bearer_client,
    enable_totp_through_api,
    signed_in,
    totp_code,
)

pytestmark = pytest.mark.django_db

RECOVERY_CODE_SHAPE = re.compile(rf"^[{codes.ALPHABET}]{{5}}-[{codes.ALPHABET}]{{5}}$")


def claims(access_token: str) -> dict:
    return jwt.decode(access_token, options={"verify_signature": False})


@pytest.fixture
def session(user):
    """(client, token response): an API session of `user`, signed in just now."""
    return signed_in(user)


@pytest.fixture
def client(session):
    return session[0]


def wrong(code: str) -> str:
    return f"{(int(code) + 500_000) % 1_000_000:06d}"


def subjects(mailoutbox) -> list[str]:
    return [message.subject for message in mailoutbox]


# ---------------------------------------------------------------------------
# Status
# ---------------------------------------------------------------------------
def test_status_of_an_account_without_factors(client):
    response = client.get(MFA)

    assert response.status_code == 200
    assert response.json() == {
        "totp": {"enabled": False, "created_at": None},
        "recovery_codes": {"remaining": 0},
        "passkeys": [],
    }


def test_status_needs_a_bearer_token(api_client):
    assert api_client.get(MFA).status_code == 401


def test_status_after_enabling_totp_counts_the_recovery_codes(user, session):
    client, tokens = session
    enable_totp_through_api(client, tokens)

    body = client.get(MFA).json()

    assert body["totp"]["enabled"] is True
    assert body["totp"]["created_at"]
    assert body["recovery_codes"] == {"remaining": 10}


# ---------------------------------------------------------------------------
# Set-up and confirmation
# ---------------------------------------------------------------------------
def test_setup_returns_the_secret_its_uri_and_a_qr_code(user, client):
    response = client.post(TOTP_SETUP, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"secret", "otpauth_uri", "qr_svg"}
    assert re.fullmatch(r"[A-Z2-7]{32}", body["secret"])
    assert body["otpauth_uri"].startswith("otpauth://totp/")
    assert f"secret={body['secret']}" in body["otpauth_uri"]
    assert body["qr_svg"].startswith("<svg")
    assert "no-store" in response["Cache-Control"]


def test_setup_keeps_the_secret_encrypted_in_a_step_bound_to_the_session(user, session):
    client, tokens = session

    secret = client.post(TOTP_SETUP, format="json").json()["secret"]

    step = PendingStep.objects.get(user=user)
    assert step.purpose == "totp_setup"
    assert step.session_id == claims(tokens["access_token"])["sid"]
    assert secret not in str(step.payload)


def test_setup_refuses_a_body(client):
    response = client.post(TOTP_SETUP, {"secret": "A" * 32}, format="json")

    assert response.status_code == 400
    assert "secret" in response.json()


def test_confirming_the_first_factor_enables_totp_and_returns_ten_recovery_codes(
    user, client, mailoutbox
):
    secret = client.post(TOTP_SETUP, format="json").json()["secret"]

    response = client.post(TOTP_CONFIRM, {"code": totp_code(secret)}, format="json")

    assert response.status_code == 200, response.content
    recovery_codes = response.json()["recovery_codes"]
    assert len(recovery_codes) == 10 == len(set(recovery_codes))
    assert all(RECOVERY_CODE_SHAPE.match(code) for code in recovery_codes)
    assert "no-store" in response["Cache-Control"]
    assert user.has_mfa
    assert RecoveryCode.objects.filter(user=user).count() == 10
    assert subjects(mailoutbox) == [
        "Two-factor sign-in was turned on for your Identity account"
    ]
    assert AuthEvent.objects.filter(user=user, type="factor_added").exists()


def test_recovery_codes_are_stored_as_digests_only(user, session):
    client, tokens = session
    _, recovery_codes, _ = enable_totp_through_api(client, tokens)

    stored = list(RecoveryCode.objects.values_list("digest", flat=True))

    for code in recovery_codes:
        assert codes.normalize(code) not in " ".join(stored)


def test_a_wrong_code_is_refused_and_enables_nothing(user, client, mailoutbox):
    secret = client.post(TOTP_SETUP, format="json").json()["secret"]

    response = client.post(
        TOTP_CONFIRM, {"code": wrong(totp_code(secret))}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"code": ["Invalid code"]}
    assert not user.has_mfa
    assert mailoutbox == []


def test_the_confirming_code_cannot_be_used_again_to_sign_in(user, client):
    secret = client.post(TOTP_SETUP, format="json").json()["secret"]
    code = totp_code(secret)
    client.post(TOTP_CONFIRM, {"code": code}, format="json")

    assert services.verify_second_factor(user=user, code=code) is None


def test_confirm_without_a_setup_is_not_found(client):
    response = client.post(TOTP_CONFIRM, {"code": "123456"}, format="json")

    assert response.status_code == 404


def test_confirm_from_another_session_is_not_found(user, client):
    secret = client.post(TOTP_SETUP, format="json").json()["secret"]
    other, _ = signed_in(user)

    response = other.post(TOTP_CONFIRM, {"code": totp_code(secret)}, format="json")

    assert response.status_code == 404
    assert not user.has_mfa


def test_a_new_setup_replaces_the_sessions_earlier_one(user, client):
    first = client.post(TOTP_SETUP, format="json").json()["secret"]
    second = client.post(TOTP_SETUP, format="json").json()["secret"]

    stale = client.post(TOTP_CONFIRM, {"code": totp_code(first)}, format="json")
    fresh = client.post(TOTP_CONFIRM, {"code": totp_code(second)}, format="json")

    assert stale.status_code == 400
    assert fresh.status_code == 200
    assert PendingStep.objects.filter(user=user).count() == 1


def test_a_used_setup_cannot_confirm_twice(user, session):
    client, tokens = session
    secret, _, _ = enable_totp_through_api(client, tokens)

    again = client.post(
        TOTP_CONFIRM, {"code": totp_code(secret, steps=1)}, format="json"
    )

    assert again.status_code == 404


def test_an_expired_setup_is_not_found(user, settings):
    settings.REAUTH_WINDOW = 3600
    with time_machine.travel(time.time(), tick=False) as traveller:
        client, _ = signed_in(user)
        secret = client.post(TOTP_SETUP, format="json").json()["secret"]
        traveller.shift(301)

        response = client.post(TOTP_CONFIRM, {"code": totp_code(secret)}, format="json")

    assert response.status_code == 404
    assert not user.has_mfa


def test_confirm_refuses_an_email_code_field_it_does_not_know(client):
    secret = client.post(TOTP_SETUP, format="json").json()["secret"]

    response = client.post(
        TOTP_CONFIRM,
        {"code": totp_code(secret), "extra": "x"},
        format="json",
    )

    assert response.status_code == 400
    assert "extra" in response.json()


def test_setup_when_totp_is_enabled_is_a_conflict(user, session):
    client, tokens = session
    enable_totp_through_api(client, tokens)

    response = client.post(TOTP_SETUP, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "totp_enabled"


@pytest.mark.parametrize("mode", ["optional", "mandatory"])
def test_setup_with_an_unverified_address_is_a_conflict(settings, mode):
    settings.EMAIL_VERIFICATION = mode
    user = UserFactory(email_verified=False)
    client = bearer_client(
        services.start_api_session(
            user=user, assurance=Assurance.proved("pwd")
        ).access_token
    )

    response = client.post(TOTP_SETUP, format="json")

    assert response.status_code == 409
    assert response.json() == {
        "detail": "Verify your email address first",
        "code": "email_unverified",
    }
    assert not PendingStep.objects.exists()


def test_setup_with_an_unverified_address_is_allowed_without_verification(
    settings,
):
    settings.EMAIL_VERIFICATION = "none"
    user = UserFactory(email_verified=False)
    client, _ = signed_in(user)

    assert client.post(TOTP_SETUP, format="json").status_code == 200


# ---------------------------------------------------------------------------
# Recent sign-in
# ---------------------------------------------------------------------------
def test_setup_needs_a_recent_sign_in(user, settings):
    with time_machine.travel(time.time(), tick=False) as traveller:
        client, _ = signed_in(user)
        traveller.shift(settings.REAUTH_WINDOW + 1)

        response = client.post(TOTP_SETUP, format="json")

    assert response.status_code == 403
    assert response.json() == {
        "detail": "Reauthentication required",
        "code": "reauthentication_required",
    }
    assert not PendingStep.objects.exists()


def test_confirm_checks_the_recent_sign_in_again(user, settings):
    with time_machine.travel(time.time(), tick=False) as traveller:
        client, _ = signed_in(user)
        traveller.shift(settings.REAUTH_WINDOW - 30)
        secret = client.post(TOTP_SETUP, format="json").json()["secret"]
        traveller.shift(31)

        response = client.post(TOTP_CONFIRM, {"code": totp_code(secret)}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "reauthentication_required"
    assert not user.has_mfa


@pytest.mark.parametrize(
    ("method", "path"), [("delete", TOTP), ("post", RECOVERY_CODES)]
)
def test_changes_to_factors_need_a_recent_level_2_sign_in(
    user, session, settings, method, path
):
    client, tokens = session
    enable_totp_through_api(client, tokens)
    # A password-only session of the same account (e.g. one started before
    # the account had a factor, through the services).
    aal1 = bearer_client(
        services.start_api_session(
            user=user, assurance=Assurance.proved("pwd")
        ).access_token
    )

    refused = getattr(aal1, method)(path, format="json")

    assert refused.status_code == 403
    assert refused.json()["code"] == "reauthentication_required"
    assert user.has_mfa


def test_disable_after_the_window_needs_reauthentication(user, settings):
    with time_machine.travel(time.time(), tick=False) as traveller:
        client, tokens = signed_in(user)
        enable_totp_through_api(client, tokens)
        traveller.shift(settings.REAUTH_WINDOW + 1)

        response = client.delete(TOTP)

    assert response.status_code == 403
    assert response.json()["code"] == "reauthentication_required"
    assert user.has_mfa


# ---------------------------------------------------------------------------
# The first factor raises this session and ends every other one
# ---------------------------------------------------------------------------
def test_the_first_factor_ends_every_other_session_and_raises_this_one(user, session):
    client, tokens = session
    other_client, other_tokens = signed_in(user)
    browser = Client()
    browser.post("/accounts/signin/", {"username": user.username, "password": PASSWORD})
    assert browser.get("/accounts/security/").status_code == 200

    secret = client.post(TOTP_SETUP, format="json").json()["secret"]
    client.post(TOTP_CONFIRM, {"code": totp_code(secret)}, format="json")

    assert other_client.get(ME).status_code == 401
    assert (
        APIClient()
        .post(REFRESH, {"refresh_token": other_tokens["refresh_token"]}, format="json")
        .status_code
        == 401
    )
    assert browser.get("/accounts/security/").status_code == 302
    # This session lives on; its tokens keep the level they were minted with
    # and a refresh brings level 2.
    assert client.get(ME).status_code == 200
    refreshed = APIClient().post(
        REFRESH, {"refresh_token": tokens["refresh_token"]}, format="json"
    )
    assert refreshed.status_code == 200
    raised = claims(refreshed.json()["access_token"])
    assert raised["aal"] == 2
    assert raised["amr"] == ["pwd", "otp"]


def test_a_later_factor_keeps_the_other_sessions_and_the_recovery_codes(user):
    # An account whose first factor is a passkey (issue 16 adds them through
    # the API; here the row stands for one), signed in at level 2.
    Authenticator.objects.create(user=user, kind=Authenticator.Kind.PASSKEY)
    aal2 = Assurance.proved("pk")
    client = bearer_client(
        services.start_api_session(user=user, assurance=aal2).access_token
    )
    other = bearer_client(
        services.start_api_session(user=user, assurance=aal2).access_token
    )
    first_codes = client.post(RECOVERY_CODES, format="json").json()["recovery_codes"]
    secret = client.post(TOTP_SETUP, format="json").json()["secret"]

    response = client.post(TOTP_CONFIRM, {"code": totp_code(secret)}, format="json")

    assert response.status_code == 200
    assert response.json() == {}
    assert other.get(ME).status_code == 200
    assert services.verify_second_factor(user=user, code=first_codes[0]) == "rc"


# ---------------------------------------------------------------------------
# Recovery codes
# ---------------------------------------------------------------------------
def test_each_recovery_code_works_once_and_its_use_is_announced(
    user, session, mailoutbox
):
    client, tokens = session
    _, recovery_codes, _ = enable_totp_through_api(client, tokens)
    mailoutbox.clear()

    first = services.verify_second_factor(user=user, code=recovery_codes[0])
    again = services.verify_second_factor(user=user, code=recovery_codes[0])

    assert (first, again) == ("rc", None)
    assert subjects(mailoutbox) == ["A recovery code was used on your Identity account"]
    assert "9 unused codes remain" in mailoutbox[0].body
    event = AuthEvent.objects.get(user=user, type="recovery_code_used")
    assert event.detail == {"remaining": 9}
    assert client.get(MFA).json()["recovery_codes"] == {"remaining": 9}


def test_regenerating_gives_a_new_set_and_the_old_set_dies(user, session, mailoutbox):
    client, tokens = session
    _, old_codes, _ = enable_totp_through_api(client, tokens)
    mailoutbox.clear()

    response = client.post(RECOVERY_CODES, format="json")

    assert response.status_code == 200
    new_codes = response.json()["recovery_codes"]
    assert len(new_codes) == 10
    assert all(RECOVERY_CODE_SHAPE.match(code) for code in new_codes)
    assert "no-store" in response["Cache-Control"]
    assert services.verify_second_factor(user=user, code=old_codes[0]) is None
    assert services.verify_second_factor(user=user, code=new_codes[0]) == "rc"
    assert subjects(mailoutbox)[0] == "New recovery codes for your Identity account"
    assert AuthEvent.objects.filter(
        user=user, type="recovery_codes_regenerated"
    ).exists()


def test_regenerating_without_a_factor_is_not_found(user, client):
    response = client.post(RECOVERY_CODES, format="json")

    assert response.status_code == 404
    assert not RecoveryCode.objects.exists()


# ---------------------------------------------------------------------------
# Disabling
# ---------------------------------------------------------------------------
def test_disabling_removes_totp_and_the_recovery_codes(user, session, mailoutbox):
    client, tokens = session
    enable_totp_through_api(client, tokens)
    mailoutbox.clear()

    response = client.delete(TOTP)

    assert response.status_code == 204
    assert not user.has_mfa
    assert not RecoveryCode.objects.filter(user=user).exists()
    assert client.get(MFA).json()["totp"] == {"enabled": False, "created_at": None}
    assert subjects(mailoutbox) == [
        "A second factor was removed from your Identity account"
    ]
    assert AuthEvent.objects.filter(user=user, type="factor_removed").exists()


def test_disabling_keeps_the_recovery_codes_while_a_passkey_remains(user, session):
    client, tokens = session
    enable_totp_through_api(client, tokens)
    Authenticator.objects.create(user=user, kind=Authenticator.Kind.PASSKEY)

    assert client.delete(TOTP).status_code == 204

    assert RecoveryCode.objects.filter(user=user).count() == 10


def test_disabling_without_totp_is_not_found(client):
    assert client.delete(TOTP).status_code == 404


@pytest.mark.parametrize(
    ("mode", "is_staff", "refused"),
    [
        ("all", False, True),
        ("staff", True, True),
        ("staff", False, False),
        ("none", True, False),
    ],
)
def test_the_last_factor_of_an_account_mfa_required_covers_cannot_go(
    settings, mode, is_staff, refused
):
    user = UserFactory(is_staff=is_staff)
    client, tokens = signed_in(user)
    enable_totp_through_api(client, tokens)
    settings.MFA_REQUIRED = mode

    response = client.delete(TOTP)

    if refused:
        assert response.status_code == 409
        assert response.json()["code"] == "mfa_required"
        assert user.has_mfa
    else:
        assert response.status_code == 204


def test_a_superuser_is_covered_by_mfa_required_staff(settings):
    user = UserFactory(is_superuser=True)
    client, tokens = signed_in(user)
    enable_totp_through_api(client, tokens)
    settings.MFA_REQUIRED = "staff"

    assert client.delete(TOTP).status_code == 409


def test_the_factor_that_is_not_the_last_may_go_under_mfa_required(settings, user):
    client, tokens = signed_in(user)
    enable_totp_through_api(client, tokens)
    Authenticator.objects.create(user=user, kind=Authenticator.Kind.PASSKEY)
    settings.MFA_REQUIRED = "all"

    assert client.delete(TOTP).status_code == 204


# ---------------------------------------------------------------------------
# Nothing secret in the logs
# ---------------------------------------------------------------------------
def test_no_secret_or_code_reaches_the_logs(user, session):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestContextFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    client, tokens = session
    try:
        secret, recovery_codes, _ = enable_totp_through_api(client, tokens)
        regenerated = client.post(RECOVERY_CODES, format="json").json()
        services.verify_second_factor(user=user, code=regenerated["recovery_codes"][0])
        client.post(TOTP_CONFIRM, {"code": totp_code(secret)}, format="json")
    finally:
        root.removeHandler(handler)
        root.setLevel(level)

    logged = stream.getvalue()
    assert "factor_added" in logged
    for secret_text in [secret, *recovery_codes, *regenerated["recovery_codes"]]:
        assert secret_text not in logged
        assert codes.normalize(secret_text) not in logged
