"""Sign-in by a code emailed to the account's address: a mailbox alone signs
a person in, and the code_token answer tells nothing about the address."""

from datetime import timedelta

import jwt
import pytest
import time_machine
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from rest_framework.test import APIClient

from accounts import codes
from accounts.models import AuthEvent, PendingStep, TokenSession, User
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.helpers import (
    CLIENT_IP,
    REFRESH,
    SIGNIN_MFA,
    attempt_sign_in,
    emailed_code,
    enable_totp,
    get_me,
    run_worker,
    totp_code,
)

pytestmark = pytest.mark.django_db

REQUEST = "/api/v1/auth/signin/code/request"
SIGNIN_CODE = "/api/v1/auth/signin/code"
INVALID = {"detail": "Invalid or expired code"}


def ask(api_client, email):
    response = api_client.post(REQUEST, {"email": email}, format="json")
    assert response.status_code == 200, response.content
    return response.json()["code_token"]


def submit(api_client, code_token, code):
    return api_client.post(
        SIGNIN_CODE, {"code_token": code_token, "code": code}, format="json"
    )


def claims(access_token: str) -> dict:
    return jwt.decode(access_token, options={"verify_signature": False})


def other_code(code):
    """A code of the alphabet that is not `code`."""
    return "".join("B" if char == "A" else "A" for char in code)


def test_code_from_the_email_signs_in_with_amr_email(api_client, user, mailoutbox):
    code_token = ask(api_client, user.email)
    (message,) = mailoutbox
    assert message.to == [user.email]

    response = submit(api_client, code_token, emailed_code(message))

    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert get_me(api_client, body["access_token"]).status_code == 200
    user.refresh_from_db()
    assert user.last_login is not None
    event = AuthEvent.objects.filter(user=user, type="signin_succeeded").last()
    assert event.detail == {"method": "email", "door": "api"}


def test_code_is_compared_ignoring_case_and_surrounding_spaces(
    api_client, user, mailoutbox
):
    code_token = ask(api_client, user.email)
    code = emailed_code(mailoutbox[0])

    response = submit(api_client, code_token, f"  {code.lower()} ")

    assert response.status_code == 200


def test_request_answer_is_the_same_for_unknown_inactive_and_deleted_addresses(
    api_client, mailoutbox
):
    live = UserFactory()
    inactive = UserFactory(is_active=False)
    deleted = UserFactory()
    deleted.deleted_at = timezone.now()
    deleted.save()
    answers = []
    for email in (live.email, inactive.email, deleted.email, "nobody@example.com"):
        response = api_client.post(REQUEST, {"email": email}, format="json")
        answers.append(
            (response.status_code, *response.json(), response["Cache-Control"])
        )
    assert set(answers) == {(200, "code_token", "no-store")}
    assert [m.to for m in mailoutbox] == [[live.email]]
    # Every request did the same work: one step, one queued lookup.
    assert PendingStep.objects.filter(purpose="signin_code").count() == 4


def test_code_works_once(api_client, user, mailoutbox):
    code_token = ask(api_client, user.email)
    code = emailed_code(mailoutbox[0])
    assert submit(api_client, code_token, code).status_code == 200

    response = submit(api_client, code_token, code)

    assert response.status_code == 400
    assert response.json() == INVALID


def test_code_expires_after_ten_minutes(api_client, user, mailoutbox):
    code_token = ask(api_client, user.email)
    code = emailed_code(mailoutbox[0])

    with time_machine.travel(timezone.now() + timedelta(minutes=10, seconds=1)):
        response = submit(api_client, code_token, code)

    assert response.status_code == 400
    assert response.json() == INVALID


def test_three_wrong_tries_kill_the_code(api_client, user, mailoutbox):
    code_token = ask(api_client, user.email)
    code = emailed_code(mailoutbox[0])
    for _ in range(3):
        assert submit(api_client, code_token, other_code(code)).json() == INVALID

    response = submit(api_client, code_token, code)

    assert response.status_code == 400
    assert response.json() == INVALID


def test_code_works_only_with_its_own_code_token(api_client, user, mailoutbox):
    first_token = ask(api_client, user.email)
    second_token = ask(api_client, user.email)
    first_code = emailed_code(mailoutbox[0])

    assert submit(api_client, second_token, first_code).json() == INVALID
    assert submit(api_client, "made-up", first_code).json() == INVALID
    assert submit(api_client, first_token, first_code).status_code == 200


def test_fourth_request_kills_the_oldest_live_code(api_client, user, mailoutbox):
    tokens = [ask(api_client, user.email) for _ in range(4)]
    codes_sent = [emailed_code(message) for message in mailoutbox]
    assert len(codes_sent) == 4

    assert submit(api_client, tokens[0], codes_sent[0]).json() == INVALID
    for code_token, code in zip(tokens[1:], codes_sent[1:], strict=True):
        assert submit(api_client, code_token, code).status_code == 200


def test_wrong_codes_are_limited_per_account(api_client, user, mailoutbox, settings):
    settings.THROTTLE_RATES = "signin_code=100/hour"
    first, second = ask(api_client, user.email), ask(api_client, user.email)
    answers = [submit(api_client, first, "AAAAAA").status_code for _ in range(3)]
    answers += [submit(api_client, second, "AAAAAA").status_code for _ in range(2)]
    assert answers == [400] * 5
    fresh = ask(api_client, user.email)

    response = submit(api_client, fresh, emailed_code(mailoutbox[-1]))

    assert response.status_code == 429
    # Its own bucket: the password still signs in.
    password_answer = api_client.post(
        "/api/v1/auth/signin",
        {"email": user.email, "password": "correct horse battery staple 7"},
        format="json",
    )
    assert password_answer.status_code != 429


def test_account_with_a_second_factor_gets_the_two_factor_answer(
    api_client, user, mailoutbox
):
    enable_totp(user)
    code_token = ask(api_client, user.email)

    response = submit(api_client, code_token, emailed_code(mailoutbox[-1]))

    assert response.status_code == 202
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["mfa_required"] is True
    assert "access_token" not in body
    step = PendingStep.objects.get(purpose="mfa_signin", user=user)
    assert step.payload["amr"] == ["email"]


def test_code_sign_in_verifies_the_address_and_ends_other_sessions(
    api_client, user, mailoutbox, tokens
):
    User.objects.filter(pk=user.pk).update(email_verified=False)
    code_token = ask(api_client, user.email)

    response = submit(api_client, code_token, emailed_code(mailoutbox[-1]))

    assert response.status_code == 200
    assert response.json()["user"]["email_verified"] is True
    user.refresh_from_db()
    assert user.email_verified
    assert get_me(api_client, tokens["access_token"]).status_code == 401
    assert get_me(api_client, response.json()["access_token"]).status_code == 200


def test_unverified_account_signs_in_by_code_under_mandatory_verification(
    api_client, user, mailoutbox, settings
):
    settings.EMAIL_VERIFICATION = "mandatory"
    User.objects.filter(pk=user.pk).update(email_verified=False)
    code_token = ask(api_client, user.email)

    response = submit(api_client, code_token, emailed_code(mailoutbox[-1]))

    assert response.status_code == 200


def test_code_dies_when_the_address_changes(api_client, user, mailoutbox):
    code_token = ask(api_client, user.email)
    code = emailed_code(mailoutbox[-1])
    User.objects.filter(pk=user.pk).update(email="moved@example.com")

    assert submit(api_client, code_token, code).json() == INVALID


def test_code_dies_when_sessions_are_revoked(api_client, user, mailoutbox):
    code_token = ask(api_client, user.email)
    code = emailed_code(mailoutbox[-1])
    User.objects.filter(pk=user.pk).update(token_generation=user.token_generation + 1)

    assert submit(api_client, code_token, code).json() == INVALID


def test_account_deactivated_after_the_request_is_refused_after_a_right_code(
    api_client, user, mailoutbox
):
    code_token = ask(api_client, user.email)
    code = emailed_code(mailoutbox[-1])
    User.objects.filter(pk=user.pk).update(is_active=False)

    response = submit(api_client, code_token, code)

    assert response.status_code == 403


# Committed like production: the worker closes the connection between tasks.
@pytest.mark.django_db(transaction=True)
def test_code_is_never_in_the_task_queue_nor_in_clear_in_the_step(
    api_client, user, mailoutbox, settings
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    code_token = ask(api_client, user.email)
    (lookup,) = DBTaskResult.objects.all()
    (step,) = PendingStep.objects.filter(purpose="signin_code")
    assert lookup.args_kwargs["kwargs"] == {
        "step_id": str(step.pk),
        "email": user.email,
    }

    run_worker()  # the lookup, then the email it queued

    code = emailed_code(mailoutbox[-1])
    step.refresh_from_db()
    queued = [repr(task.args_kwargs) for task in DBTaskResult.objects.all()]
    assert len(queued) == 2
    for text in [*queued, repr((step.digest, step.payload))]:
        assert code not in text
        assert code_token not in text
    assert step.payload["code_digest"] == codes.digest(
        code, purpose="signin_code", subject=str(step.pk)
    )
    assert submit(api_client, code_token, code).status_code == 200


def test_signin_by_code_off_answers_404(api_client, user, settings):
    settings.SIGNIN_BY_CODE = False

    assert api_client.post(REQUEST, {"email": user.email}).status_code == 404
    assert api_client.post(SIGNIN_CODE, {}).status_code == 404


def test_client_address_is_limited_in_code_requests(api_client, user, settings):
    settings.THROTTLE_RATES = "signin_code=2/hour"
    ask(api_client, user.email)
    ask(api_client, user.email)

    response = api_client.post(REQUEST, {"email": user.email}, format="json")

    assert response.status_code == 429


# Same answer whatever the address -----------------------------------------------
def _answer(email, **extra):
    response = APIClient(REMOTE_ADDR=CLIENT_IP).post(
        REQUEST, {"email": email}, format="json", **extra
    )
    body = response.json()
    headers = {k: v for k, v in response.items() if k.lower() not in VARYING}
    return response.status_code, sorted(body), len(body["code_token"]), headers


# Headers whose value differs per response whatever the address.
VARYING = {"x-request-id", "date"}


def test_the_whole_answer_is_the_same_for_every_kind_of_address(db, mailoutbox):
    live = UserFactory()
    unverified = UserFactory(email_verified=False)
    inactive = UserFactory(is_active=False)
    deleted = UserFactory()
    deleted.deleted_at = timezone.now()
    deleted.save()
    addresses = [
        live.email,
        live.email.upper(),
        unverified.email,
        inactive.email,
        deleted.email,
        "nobody@example.com",
    ]

    answers = [_answer(email) for email in addresses]

    assert answers[0][0] == 200
    assert all(answer == answers[0] for answer in answers), answers
    assert answers[0][3]["Cache-Control"] == "no-store"


# Committed like production: the worker runs apart from the request.
@pytest.mark.django_db(transaction=True)
def test_every_address_queues_the_same_one_lookup_and_no_email(settings, mailoutbox):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    live = UserFactory()
    inactive = UserFactory(is_active=False)

    for email in (live.email, inactive.email, "nobody@example.com"):
        _answer(email)

    queued = list(DBTaskResult.objects.order_by("enqueued_at"))
    assert [task.task_path for task in queued] == [queued[0].task_path] * 3
    assert {tuple(sorted(t.args_kwargs["kwargs"])) for t in queued} == {
        ("email", "step_id")
    }
    assert mailoutbox == []
    assert not PendingStep.objects.filter(user__isnull=False).exists()


def test_a_code_token_of_an_unknown_address_answers_like_a_wrong_code(
    api_client, user, mailoutbox
):
    real = ask(api_client, user.email)
    wrong_on_real = submit(api_client, real, "AAAAAA")
    unknown = ask(api_client, "nobody@example.com")

    answer = submit(api_client, unknown, "AAAAAA")

    assert (answer.status_code, answer.json()) == (400, INVALID)
    assert (wrong_on_real.status_code, wrong_on_real.json()) == (400, INVALID)


# Bound to its code_token -------------------------------------------------------
def test_a_code_never_signs_in_through_another_accounts_code_token(
    api_client, user, mailoutbox
):
    other = UserFactory()
    mine = ask(api_client, user.email)
    my_code = emailed_code(mailoutbox[-1])
    theirs = ask(api_client, other.email)

    answer = submit(api_client, theirs, my_code)

    assert (answer.status_code, answer.json()) == (400, INVALID)
    assert User.objects.get(pk=other.pk).last_login is None
    # The wrong try counted against their code, not mine.
    assert submit(api_client, mine, my_code).status_code == 200


def test_a_code_token_is_refused_in_place_of_other_tokens(api_client, user, mailoutbox):
    code_token = ask(api_client, user.email)

    refresh = api_client.post(REFRESH, {"refresh_token": code_token}, format="json")
    mfa = api_client.post(
        SIGNIN_MFA, {"mfa_token": code_token, "code": "123456"}, format="json"
    )

    assert refresh.status_code == 401
    assert mfa.status_code in (400, 401)
    assert "access_token" not in mfa.json()


# What a code sign-in proves -------------------------------------------------------
def test_tokens_of_a_code_sign_in_say_email_at_level_one(api_client, user, mailoutbox):
    User.objects.filter(pk=user.pk).update(email_verified=False)
    code_token = ask(api_client, user.email)

    body = submit(api_client, code_token, emailed_code(mailoutbox[-1])).json()

    access = claims(body["access_token"])
    assert access["amr"] == ["email"]
    assert access["aal"] == 1
    assert isinstance(access["auth_time"], int)
    assert body["user"]["email_verified"] is True
    session = TokenSession.objects.get(user=user, revoked_at=None)
    assert list(session.amr) == ["email"]


def test_a_code_and_an_app_code_finish_at_level_two(api_client, user, mailoutbox):
    secret = enable_totp(user)
    code_token = ask(api_client, user.email)
    first = submit(api_client, code_token, emailed_code(mailoutbox[-1])).json()
    assert first["methods"] == ["totp"]

    second = api_client.post(
        SIGNIN_MFA,
        {"mfa_token": first["mfa_token"], "code": totp_code(secret)},
        format="json",
    )

    assert second.status_code == 200, second.content
    access = claims(second.json()["access_token"])
    assert (access["amr"], access["aal"]) == (["email", "otp"], 2)


# The per-account bucket ------------------------------------------------------------
def _wrong_codes_from_many_addresses(user, mailoutbox, count):
    for n in range(count):
        client = APIClient(REMOTE_ADDR=f"198.51.100.{n + 10}")
        answer = submit(client, ask(client, user.email), "AAAAAA")
        assert (answer.status_code, answer.json()) == (400, INVALID)


def test_wrong_codes_count_per_account_whatever_the_client_address(user, mailoutbox):
    _wrong_codes_from_many_addresses(user, mailoutbox, 5)
    fresh = APIClient(REMOTE_ADDR="203.0.113.9")
    code_token = ask(fresh, user.email)

    response = submit(fresh, code_token, emailed_code(mailoutbox[-1]))

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "access_token" not in response.json()


def test_the_code_limit_lifts_after_its_delay(user, mailoutbox):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        _wrong_codes_from_many_addresses(user, mailoutbox, 5)
        clock.shift(15 * 60 + 1)
        client = APIClient(REMOTE_ADDR="203.0.113.9")
        code_token = ask(client, user.email)

        response = submit(client, code_token, emailed_code(mailoutbox[-1]))

    assert response.status_code == 200, response.content


def test_failed_passwords_do_not_stop_a_code_sign_in(user, mailoutbox):
    for n in range(11):
        attempt_sign_in(user.email, "not the password", ip=f"198.51.100.{n + 10}")
    assert attempt_sign_in(user.email, PASSWORD, ip="203.0.113.8").status_code == 429
    client = APIClient(REMOTE_ADDR="203.0.113.9")
    code_token = ask(client, user.email)

    response = submit(client, code_token, emailed_code(mailoutbox[-1]))

    assert response.status_code == 200, response.content


def test_throttles_off_lifts_the_account_limit_but_not_three_tries_per_code(
    api_client, user, mailoutbox, settings
):
    settings.THROTTLE_RATES = "off"
    _wrong_codes_from_many_addresses(user, mailoutbox, 6)
    code_token = ask(api_client, user.email)
    code = emailed_code(mailoutbox[-1])
    for _ in range(3):
        assert submit(api_client, code_token, other_code(code)).json() == INVALID

    assert submit(api_client, code_token, code).json() == INVALID
    fresh = ask(api_client, user.email)
    assert submit(api_client, fresh, emailed_code(mailoutbox[-1])).status_code == 200


def test_bad_input_is_a_clear_400(api_client, user):
    for body in (
        {},
        {"code_token": "x"},
        {"code": "ABCDEF"},
        {"code_token": 7, "code": ["A"]},
        {"code_token": "x", "code": "ABCDEF", "extra": 1},
    ):
        response = api_client.post(SIGNIN_CODE, body, format="json")
        assert response.status_code == 400, (body, response.content)
    for body in ({}, {"email": ["a@example.com"]}, {"email": "a@example.com", "x": 1}):
        response = api_client.post(REQUEST, body, format="json")
        assert response.status_code == 400, (body, response.content)
