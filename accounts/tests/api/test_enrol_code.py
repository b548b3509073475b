"""A confined session enrols its first factor only with a code emailed to the
account's address: a stolen password alone cannot add the thief's factor."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts import services
from accounts.errors import EnrolCodeInvalid, EnrolCodeMissing
from accounts.models import PendingStep
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import (
    ENROL_CODE,
    bearer_client,
    emailed_code,
    password_only,
    two_factors,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def staff_must_have_mfa(settings):
    settings.MFA_REQUIRED = "staff"


def session(user, proved):
    """(bearer client, the session's assurance as the services get it)."""
    pair = services.start_api_session(user=user, assurance=proved)
    return bearer_client(pair.access_token), proved.in_session(pair.session_id)


def test_confined_session_gets_a_code_by_email(mailoutbox):
    clerk = UserFactory(is_staff=True)
    client, _ = session(clerk, password_only())

    response = client.post(ENROL_CODE)

    assert response.status_code == 200
    assert response.json() == {
        "detail": "A code is on its way to your email address.",
        "expires_in": 600,
    }
    (message,) = mailoutbox
    assert message.to == [clerk.email]
    code = emailed_code(message)
    (step,) = PendingStep.objects.filter(user=clerk, purpose="enrol_code")
    assert code not in step.digest
    assert step.used_at is None


@pytest.mark.parametrize(
    ("is_staff", "proved"),
    [(False, password_only), (True, two_factors)],
    ids=["member-outside-scope", "staff-with-second-factor"],
)
def test_session_that_is_not_confined_is_refused_a_code(mailoutbox, is_staff, proved):
    client, _ = session(UserFactory(is_staff=is_staff), proved())

    response = client.post(ENROL_CODE)

    assert response.status_code == 409
    assert response.json()["code"] == "not_confined"
    assert mailoutbox == []
    assert not PendingStep.objects.exists()


def test_code_is_not_kept_in_the_task_queue(settings, mailoutbox):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    client, _ = session(UserFactory(is_staff=True), password_only())

    client.post(ENROL_CODE)

    (row,) = DBTaskResult.objects.all()
    step = PendingStep.objects.get()
    assert row.args_kwargs["kwargs"]["extra"] == {"step_id": str(step.pk)}


def test_emailed_code_lets_the_confined_session_enrol_once(mailoutbox):
    clerk = UserFactory(is_staff=True)
    client, assurance = session(clerk, password_only())
    client.post(ENROL_CODE)
    code = emailed_code(mailoutbox[0])

    services.check_enrol_code(user=clerk, assurance=assurance, email_code=code.lower())

    with pytest.raises(EnrolCodeInvalid):
        services.check_enrol_code(user=clerk, assurance=assurance, email_code=code)


def test_enrolling_from_a_confined_session_without_the_code_is_refused():
    clerk = UserFactory(is_staff=True)
    _, assurance = session(clerk, password_only())

    with pytest.raises(EnrolCodeMissing) as raised:
        services.check_enrol_code(user=clerk, assurance=assurance, email_code="")

    assert raised.value.errors == {
        "email_code": [
            ("Enter the code we emailed you to set up a second factor.", "required")
        ]
    }


def test_session_that_is_not_confined_enrols_without_a_code():
    clerk = UserFactory(is_staff=True)
    _, assurance = session(clerk, two_factors())

    services.check_enrol_code(user=clerk, assurance=assurance, email_code=None)


def test_code_expires_after_ten_minutes(mailoutbox, time_machine):
    clerk = UserFactory(is_staff=True)
    client, assurance = session(clerk, password_only())
    client.post(ENROL_CODE)
    code = emailed_code(mailoutbox[0])

    time_machine.move_to(timezone.now() + timedelta(minutes=10, seconds=1))

    with pytest.raises(EnrolCodeInvalid):
        services.check_enrol_code(user=clerk, assurance=assurance, email_code=code)


def test_code_works_only_in_the_session_that_asked_for_it(mailoutbox):
    clerk = UserFactory(is_staff=True)
    client, _ = session(clerk, password_only())
    _, other_session = session(clerk, password_only())
    client.post(ENROL_CODE)
    code = emailed_code(mailoutbox[0])

    with pytest.raises(EnrolCodeInvalid):
        services.check_enrol_code(user=clerk, assurance=other_session, email_code=code)


def test_a_new_code_replaces_the_earlier_one(mailoutbox):
    clerk = UserFactory(is_staff=True)
    client, assurance = session(clerk, password_only())
    client.post(ENROL_CODE)
    client.post(ENROL_CODE)
    first, second = (emailed_code(m) for m in mailoutbox)

    if first != second:
        with pytest.raises(EnrolCodeInvalid):
            services.check_enrol_code(user=clerk, assurance=assurance, email_code=first)
    services.check_enrol_code(user=clerk, assurance=assurance, email_code=second)


def test_five_wrong_codes_kill_the_code(mailoutbox):
    clerk = UserFactory(is_staff=True)
    client, assurance = session(clerk, password_only())
    client.post(ENROL_CODE)
    code = emailed_code(mailoutbox[0])
    wrong = "2222222" if code != "222222" else "333333"

    for _ in range(5):
        with pytest.raises(EnrolCodeInvalid):
            services.check_enrol_code(user=clerk, assurance=assurance, email_code=wrong)

    with pytest.raises(EnrolCodeInvalid):
        services.check_enrol_code(user=clerk, assurance=assurance, email_code=code)


def test_signing_out_everywhere_kills_the_code(mailoutbox):
    clerk = UserFactory(is_staff=True)
    client, assurance = session(clerk, password_only())
    client.post(ENROL_CODE)
    code = emailed_code(mailoutbox[0])

    services.sign_out_all(user=clerk)

    with pytest.raises(EnrolCodeInvalid):
        services.check_enrol_code(user=clerk, assurance=assurance, email_code=code)
