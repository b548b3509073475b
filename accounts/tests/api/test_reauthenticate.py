"""POST /auth/reauthenticate: a session proves a factor again and gets an
access token that counts as a recent sign-in; the refresh token is left alone
and later refreshes carry the new proof from the session row."""

import jwt
import pytest
import time_machine
from rest_framework.test import APIClient

from accounts import services
from accounts.assurance import Assurance
from accounts.errors import ReauthenticationRequired
from accounts.models import AuthEvent, TokenSession
from accounts.tests.factories import PASSWORD
from accounts.tests.helpers import (
    ME,
    REAUTHENTICATE,
    REFRESH,
    SIGNIN,
    SIGNIN_MFA,
    add_recovery_codes,
    bearer_client,
    enable_totp,
    sign_in,
    totp_code,
    wrong_code,
)

pytestmark = pytest.mark.django_db

START = "2026-06-01 12:00:10Z"


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def claims(access_token: str) -> dict:
    return jwt.decode(access_token, options={"verify_signature": False})


def two_factor_sign_in(user, secret) -> dict:
    step = APIClient().post(
        SIGNIN, {"email": user.email, "password": PASSWORD}, format="json"
    )
    response = APIClient().post(
        SIGNIN_MFA,
        {"mfa_token": step.json()["mfa_token"], "code": totp_code(secret)},
        format="json",
    )
    assert response.status_code == 200, response.content
    return response.json()


def reauthenticate(access_token, **body):
    return bearer_client(access_token).post(REAUTHENTICATE, body, format="json")


def test_a_password_reauthenticates_an_account_without_mfa(user, clock):
    tokens = sign_in(user)
    clock.shift(600)

    response = reauthenticate(tokens["access_token"], password=PASSWORD)

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer"
    assert response["Cache-Control"] == "no-store"
    fresh = claims(body["access_token"])
    assert fresh["auth_time"] == claims(tokens["access_token"])["auth_time"] + 600
    assert fresh["amr"] == ["pwd"]
    assert fresh["sid"] == claims(tokens["access_token"])["sid"]
    assert bearer_client(body["access_token"]).get(ME).status_code == 200


def test_later_refreshes_carry_the_new_proof_and_the_refresh_token_still_works(
    user, clock
):
    tokens = sign_in(user)
    clock.shift(600)
    reauthenticate(tokens["access_token"], password=PASSWORD)

    refreshed = APIClient().post(
        REFRESH, {"refresh_token": tokens["refresh_token"]}, format="json"
    )

    assert refreshed.status_code == 200
    original = claims(tokens["access_token"])["auth_time"]
    assert claims(refreshed.json()["access_token"])["auth_time"] == original + 600


def test_a_code_raises_the_session_and_lists_every_method_once_in_order(user, clock):
    secret = enable_totp(user)
    recovery = add_recovery_codes(user)
    tokens = two_factor_sign_in(user, secret)
    clock.shift(600)

    by_code = reauthenticate(tokens["access_token"], code=recovery[0])
    clock.shift(60)
    again = reauthenticate(by_code.json()["access_token"], code=totp_code(secret))

    assert claims(by_code.json()["access_token"])["amr"] == ["pwd", "otp", "rc"]
    assert claims(again.json()["access_token"])["amr"] == ["pwd", "otp", "rc"]
    assert claims(again.json()["access_token"])["aal"] == 2
    session = TokenSession.objects.get(pk=claims(tokens["access_token"])["sid"])
    assert session.amr == ["pwd", "otp", "rc"]
    assert (
        int(session.auth_time.timestamp())
        == claims(again.json()["access_token"])["auth_time"]
    )


def test_a_password_alone_is_not_enough_for_an_account_with_mfa(user):
    secret = enable_totp(user)
    tokens = two_factor_sign_in(user, secret)

    response = reauthenticate(tokens["access_token"], password=PASSWORD)

    assert response.status_code == 400
    assert response.json() == {"code": ["A second factor is required"]}


def test_a_wrong_password_is_400_on_the_password_field(user):
    tokens = sign_in(user)

    response = reauthenticate(tokens["access_token"], password="wrong")

    assert response.status_code == 400
    assert list(response.json()) == ["password"]


def test_a_wrong_code_is_400_on_the_code_field(user):
    secret = enable_totp(user)
    tokens = two_factor_sign_in(user, secret)

    response = reauthenticate(tokens["access_token"], code=wrong_code(secret))

    assert response.status_code == 400
    assert response.json() == {"code": ["Invalid code"]}


def test_neither_or_both_answers_and_unknown_fields_are_400(user):
    tokens = sign_in(user)

    assert reauthenticate(tokens["access_token"]).status_code == 400
    assert (
        reauthenticate(
            tokens["access_token"], password=PASSWORD, code="123456"
        ).status_code
        == 400
    )
    unknown = reauthenticate(tokens["access_token"], password=PASSWORD, aal=2)
    assert unknown.status_code == 400 and "aal" in unknown.json()


def test_reauthenticate_needs_a_bearer_token():
    response = APIClient().post(REAUTHENTICATE, {"password": "x"}, format="json")

    assert response.status_code == 401


def test_five_wrong_answers_revoke_the_session_but_not_the_account(user, clock):
    secret = enable_totp(user)
    tokens = two_factor_sign_in(user, secret)

    answers = [
        reauthenticate(tokens["access_token"], code=wrong_code(secret)).status_code
        for _ in range(5)
    ]
    after = reauthenticate(tokens["access_token"], code=totp_code(secret))

    assert answers == [400] * 5
    assert after.status_code == 401
    assert bearer_client(tokens["access_token"]).get(ME).status_code == 401
    # Not counted toward the account's sign-in limits: the owner still gets in.
    clock.shift(30)
    two_factor_sign_in(user, secret)


def test_reauthentication_is_audited(user):
    tokens = sign_in(user)

    reauthenticate(tokens["access_token"], password=PASSWORD)

    event = AuthEvent.objects.get(user=user, type=AuthEvent.Type.REAUTHENTICATED)
    assert event.detail == {"method": "pwd", "door": "api"}


@pytest.mark.parametrize(("age", "recent"), [(300, True), (301, False)])
def test_a_reauthenticated_token_is_recent_exactly_within_the_window(
    user, clock, settings, age, recent
):
    settings.REAUTH_WINDOW = 300
    tokens = sign_in(user)
    clock.shift(600)
    fresh = reauthenticate(tokens["access_token"], password=PASSWORD).json()
    clock.shift(age)

    assurance = Assurance.from_claims(claims(fresh["access_token"]))

    if recent:
        services.require_recent_auth(user=user, assurance=assurance)
    else:
        with pytest.raises(ReauthenticationRequired):
            services.require_recent_auth(user=user, assurance=assurance)


def test_a_password_level_token_is_never_recent_for_an_account_with_mfa(user):
    tokens = sign_in(user)
    enable_totp(user)

    assurance = Assurance.from_claims(claims(tokens["access_token"]))

    with pytest.raises(ReauthenticationRequired):
        services.require_recent_auth(user=user, assurance=assurance)
