"""Two-factor sign-in through the API: a correct password of an account with a
second factor answers 202 with an mfa_token, and only POST /auth/signin/mfa
with a TOTP or recovery code issues tokens."""

import time
from datetime import timedelta

import jwt
import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import AuthEvent, FactorReset, PendingStep, TokenSession, User
from accounts.tests.factories import PASSWORD
from accounts.tests.helpers import (
    FORGOT,
    ME,
    RESET,
    SIGNIN,
    SIGNIN_MFA,
    add_recovery_codes,
    bearer_client,
    emailed_link,
    enable_totp,
    totp_code,
    wrong_code,
)

pytestmark = pytest.mark.django_db

START = "2026-06-01 12:00:10Z"


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def secret(user):
    return enable_totp(user)


@pytest.fixture
def recovery_codes(user, secret):
    return add_recovery_codes(user)


def claims(access_token: str) -> dict:
    return jwt.decode(access_token, options={"verify_signature": False})


def password_step(user, client=None, **extra):
    return (client or APIClient()).post(
        SIGNIN, {"email": user.email, "password": PASSWORD}, format="json", **extra
    )


def mfa_token_of(user, client=None) -> str:
    response = password_step(user, client)
    assert response.status_code == 202, response.content
    return response.json()["mfa_token"]


def second_step(mfa_token, code, client=None):
    return (client or APIClient()).post(
        SIGNIN_MFA, {"mfa_token": mfa_token, "code": code}, format="json"
    )


def test_a_correct_password_of_an_account_with_totp_answers_202_and_no_tokens(
    user, recovery_codes
):
    response = password_step(user)

    assert response.status_code == 202
    body = response.json()
    assert set(body) == {"mfa_required", "mfa_token", "methods", "expires_in"}
    assert body["mfa_required"] is True
    assert body["methods"] == ["totp", "recovery_code"]
    assert body["expires_in"] == 300
    assert len(body["mfa_token"]) >= 40
    assert response["Cache-Control"] == "no-store"
    assert not TokenSession.objects.filter(user=user).exists()
    assert User.objects.get(pk=user.pk).last_login is None


def test_the_mfa_token_is_stored_only_as_a_digest(user, secret):
    mfa_token = mfa_token_of(user)

    step = PendingStep.objects.get(user=user)
    assert step.purpose == "mfa_signin"
    assert mfa_token not in step.digest
    assert step.payload["amr"] == ["pwd"]


def test_a_wrong_password_of_an_account_with_totp_is_still_401(user, secret):
    response = APIClient().post(
        SIGNIN, {"email": user.email, "password": "wrong"}, format="json"
    )

    assert response.status_code == 401
    assert not PendingStep.objects.exists()


def test_an_inactive_account_with_totp_gets_403_before_any_mfa_token(user, secret):
    User.objects.filter(pk=user.pk).update(is_active=False)

    response = password_step(user)

    assert response.status_code == 403
    assert not PendingStep.objects.exists()


def test_an_unverified_account_under_mandatory_verification_gets_403_first(
    user, secret, settings
):
    settings.EMAIL_VERIFICATION = "mandatory"
    User.objects.filter(pk=user.pk).update(email_verified=False)

    response = password_step(user)

    assert response.status_code == 403
    assert not PendingStep.objects.exists()


def test_the_mfa_token_and_a_totp_code_give_tokens_of_level_2(user, secret):
    mfa_token = mfa_token_of(user)

    response = second_step(mfa_token, totp_code(secret))

    assert response.status_code == 200, response.content
    body = response.json()
    access = claims(body["access_token"])
    assert access["amr"] == ["pwd", "otp"]
    assert access["aal"] == 2
    assert body["user"]["id"] == str(user.pk)
    assert body["user"]["last_login"] is not None
    assert response["Cache-Control"] == "no-store"
    session = TokenSession.objects.get(pk=access["sid"])
    assert (session.amr, session.aal) == (["pwd", "otp"], 2)
    assert bearer_client(body["access_token"]).get(ME).status_code == 200


def test_a_wrong_code_is_400_on_the_code_field_and_issues_nothing(user, secret):
    mfa_token = mfa_token_of(user)

    response = second_step(mfa_token, wrong_code(secret))

    assert response.status_code == 400
    assert response.json() == {"code": ["Invalid code"]}
    assert not TokenSession.objects.exists()
    assert User.objects.get(pk=user.pk).last_login is None


def test_a_used_mfa_token_is_401(user, secret, clock):
    mfa_token = mfa_token_of(user)
    assert second_step(mfa_token, totp_code(secret)).status_code == 200
    clock.shift(30)

    response = second_step(mfa_token, totp_code(secret))

    assert response.status_code == 401


@pytest.mark.parametrize(
    "mfa_token", ["", "x" * 43, "not-a-token", "a" * 5000], ids=repr
)
def test_an_unknown_or_malformed_mfa_token_is_refused(user, secret, mfa_token):
    response = second_step(mfa_token, totp_code(secret))

    assert response.status_code in (400, 401)
    assert not TokenSession.objects.exists()


def test_an_unknown_mfa_token_is_401(user, secret):
    assert second_step("x" * 43, totp_code(secret)).status_code == 401


def test_the_mfa_token_works_until_its_fifth_minute_ends(user, secret, clock):
    early, late = mfa_token_of(user), mfa_token_of(user)
    clock.shift(299)

    assert second_step(early, totp_code(secret)).status_code == 200
    clock.shift(2)
    assert second_step(late, totp_code(secret)).status_code == 401


def test_a_revocation_after_the_password_step_kills_the_mfa_token(
    user, secret, mailoutbox
):
    mfa_token = mfa_token_of(user)
    APIClient().post(FORGOT, {"email": user.email}, format="json")
    _, uid, token = emailed_link(mailoutbox[-1], "password/reset")
    assert (
        APIClient()
        .post(
            RESET,
            {"uid": uid, "token": token, "new_password": "a new long phrase 42!"},
            format="json",
        )
        .status_code
        == 200
    )

    response = second_step(mfa_token, totp_code(secret))

    assert response.status_code == 401


def test_unknown_fields_and_a_missing_code_are_400(user, secret):
    mfa_token = mfa_token_of(user)

    extra = APIClient().post(
        SIGNIN_MFA,
        {"mfa_token": mfa_token, "code": totp_code(secret), "aal": 2},
        format="json",
    )
    missing = APIClient().post(SIGNIN_MFA, {"mfa_token": mfa_token}, format="json")

    assert extra.status_code == 400 and "aal" in extra.json()
    assert missing.status_code == 400 and "code" in missing.json()


# TOTP: once per step, one step of drift either way --------------------------
def test_a_used_totp_code_is_refused_on_the_next_sign_in(user, secret):
    code = totp_code(secret)
    assert second_step(mfa_token_of(user), code).status_code == 200

    replay = second_step(mfa_token_of(user), code)

    assert replay.status_code == 400
    assert replay.json() == {"code": ["Invalid code"]}


@pytest.mark.parametrize("steps", [-1, 1])
def test_a_code_one_step_off_is_accepted(user, secret, steps):
    code = totp_code(secret, at=time.time() + steps * 30)

    assert second_step(mfa_token_of(user), code).status_code == 200


@pytest.mark.parametrize("steps", [-2, 2])
def test_a_code_two_steps_off_is_refused(user, secret, steps):
    code = totp_code(secret, at=time.time() + steps * 30)

    assert second_step(mfa_token_of(user), code).status_code == 400


# Recovery codes ---------------------------------------------------------------
def test_a_recovery_code_signs_in_once(user, recovery_codes):
    code = recovery_codes[3]

    first = second_step(mfa_token_of(user), code.lower().replace("-", " "))
    again = second_step(mfa_token_of(user), code)

    assert first.status_code == 200
    assert claims(first.json()["access_token"])["amr"] == ["pwd", "rc"]
    assert claims(first.json()["access_token"])["aal"] == 2
    assert again.status_code == 400
    assert user.recovery_codes.filter(used_at__isnull=True).count() == 9


# Per-token rule -----------------------------------------------------------------
@pytest.mark.parametrize("rates", ["", "off"])
def test_the_fifth_wrong_code_kills_the_mfa_token(user, secret, settings, rates):
    settings.THROTTLE_RATES = rates
    mfa_token = mfa_token_of(user)

    answers = [second_step(mfa_token, wrong_code(secret)) for _ in range(5)]
    after = second_step(mfa_token, totp_code(secret))

    assert [a.status_code for a in answers] == [400] * 5
    assert after.status_code == 401
    assert not TokenSession.objects.exists()


# Per-account limits ---------------------------------------------------------------
def test_five_wrong_codes_across_tokens_make_the_account_wait(user, secret, clock):
    first, second = mfa_token_of(user), mfa_token_of(user)
    for _ in range(3):
        assert second_step(first, wrong_code(secret)).status_code == 400
    for _ in range(2):
        assert second_step(second, wrong_code(secret)).status_code == 400

    refused = second_step(second, totp_code(secret))
    new_token = password_step(user)

    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 900
    assert new_token.status_code == 429
    assert 0 < int(new_token["Retry-After"]) <= 900
    clock.shift(int(refused["Retry-After"]) + 1)
    assert second_step(mfa_token_of(user), totp_code(secret)).status_code == 200


def test_the_owner_is_not_slowed_by_four_wrong_codes(user, secret):
    mfa_token = mfa_token_of(user)
    for _ in range(4):
        second_step(mfa_token, wrong_code(secret))

    assert second_step(mfa_token, totp_code(secret)).status_code == 200


def test_throttle_rates_off_turns_the_per_account_limit_off(user, secret, settings):
    settings.THROTTLE_RATES = "off"
    for _ in range(2):
        mfa_token = mfa_token_of(user)
        for _ in range(5):
            second_step(mfa_token, wrong_code(secret))

    assert second_step(mfa_token_of(user), totp_code(secret)).status_code == 200


def wrong_codes_in_a_row(user, secret, clock, count):
    """`count` wrong answers, four per sign-in, twenty minutes apart: never
    five in five minutes, so only the in-a-row rule can bind."""
    while count > 0:
        clock.shift(20 * 60)
        mfa_token = mfa_token_of(user)
        for _ in range(min(4, count)):
            assert second_step(mfa_token, wrong_code(secret)).status_code == 400
            count -= 1


def test_a_hundred_wrong_codes_in_a_row_refuse_second_factor_sign_in(
    user, secret, clock, mailoutbox
):
    wrong_codes_in_a_row(user, secret, clock, 100)
    clock.shift(3 * 86400)

    response = password_step(user)

    assert response.status_code == 429
    assert response.json()["detail"].startswith("Too many wrong codes")
    assert "Retry-After" in response


def test_a_password_reset_by_email_lifts_the_hundred_in_a_row_refusal(
    user, secret, clock, mailoutbox
):
    wrong_codes_in_a_row(user, secret, clock, 100)
    APIClient().post(FORGOT, {"email": user.email}, format="json")
    _, uid, token = emailed_link(mailoutbox[-1], "password/reset")
    new_password = "a new long phrase 42!"
    APIClient().post(
        RESET,
        {"uid": uid, "token": token, "new_password": new_password},
        format="json",
    )
    clock.shift(60)

    response = APIClient().post(
        SIGNIN, {"email": user.email, "password": new_password}, format="json"
    )
    assert response.status_code == 202
    ok = second_step(response.json()["mfa_token"], totp_code(secret))
    assert ok.status_code == 200


def test_a_success_starts_the_hundred_again(user, secret, clock):
    wrong_codes_in_a_row(user, secret, clock, 99)
    clock.shift(20 * 60)
    assert second_step(mfa_token_of(user), totp_code(secret)).status_code == 200

    wrong_codes_in_a_row(user, secret, clock, 4)
    clock.shift(20 * 60)

    assert second_step(mfa_token_of(user), totp_code(secret)).status_code == 200


# Notices and audit --------------------------------------------------------------
def test_a_wrong_code_emails_the_owner_at_most_hourly(user, secret, clock, mailoutbox):
    client = APIClient(REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT="Guesser/1.0")
    mfa_token = mfa_token_of(user, client)
    mailoutbox.clear()

    second_step(mfa_token, wrong_code(secret), client)
    second_step(mfa_token, wrong_code(secret), client)
    assert len(mailoutbox) == 1
    (notice,) = mailoutbox
    assert notice.to == [user.email]
    assert "203.0.113.9" in notice.body
    assert "Guesser/1.0" in notice.body

    clock.shift(3601)
    second_step(mfa_token_of(user, client), wrong_code(secret), client)
    assert len(mailoutbox) == 2


def test_a_wrong_code_is_recorded_for_the_security_page(user, secret):
    second_step(mfa_token_of(user), wrong_code(secret))

    event = AuthEvent.objects.get(user=user, type=AuthEvent.Type.MFA_SIGNIN_FAILED)
    assert event.detail["reason"] == "invalid_code"


def test_an_abandoned_second_factor_is_reported_at_the_next_password_step(
    user, secret, clock, mailoutbox
):
    mfa_token_of(user, APIClient(REMOTE_ADDR="203.0.113.9"))
    mailoutbox.clear()
    clock.shift(301)

    mfa_token_of(user)

    assert len(mailoutbox) == 1
    assert "203.0.113.9" in mailoutbox[0].body
    assert AuthEvent.objects.filter(
        user=user, type=AuthEvent.Type.MFA_SIGNIN_FAILED, detail__reason="abandoned"
    ).exists()


def test_housekeeping_reports_abandoned_second_factors(user, secret, clock, mailoutbox):
    mfa_token_of(user)
    finished = mfa_token_of(user)
    second_step(finished, totp_code(secret))
    mailoutbox.clear()

    call_command("flushexpiredtokens", stdout=None)
    assert mailoutbox == []
    clock.shift(301)
    call_command("flushexpiredtokens", stdout=None)

    assert len(mailoutbox) == 1
    assert not PendingStep.objects.filter(expires_at__lte=timezone.now()).exists()


def test_a_finished_sign_in_is_never_reported_as_abandoned(
    user, secret, clock, mailoutbox
):
    second_step(mfa_token_of(user), totp_code(secret))
    mailoutbox.clear()
    clock.shift(timedelta(minutes=10).total_seconds())

    mfa_token_of(user)

    assert mailoutbox == []


def test_signing_in_with_a_second_factor_cancels_a_staff_started_reset(user, secret):
    now = timezone.now()
    reset = FactorReset.objects.create(
        user=user,
        reason="Lost phone",
        email=user.email,
        generation=user.token_generation,
        link_expires_at=now + timedelta(hours=24),
        accepted_at=now,
        due_at=now + timedelta(days=3),
    )

    response = second_step(mfa_token_of(user), totp_code(secret))

    reset.refresh_from_db()
    assert response.status_code == 200
    assert reset.cancelled_at is not None
    assert user.authenticators.exists()


def test_a_wrong_second_factor_leaves_a_staff_started_reset_alone(user, secret):
    now = timezone.now()
    reset = FactorReset.objects.create(
        user=user,
        reason="Lost phone",
        email=user.email,
        generation=user.token_generation,
        link_expires_at=now + timedelta(hours=24),
    )

    second_step(mfa_token_of(user), "000000")

    reset.refresh_from_db()
    assert reset.cancelled_at is None
