"""Sign-in by a code emailed to the account's address: a mailbox alone signs
a person in, and the code_token answer tells nothing about the address."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts import codes
from accounts.models import AuthEvent, PendingStep, User
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import emailed_code, enable_totp, get_me, run_worker

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
    assert event.detail == {"method": "email"}


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
