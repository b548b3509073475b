"""A staff-started factor reset from the owner's side: the emailed link, the
waiting period, cancelling, and the removal when the period is over."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts import services
from accounts.errors import FactorResetRefused, InvalidToken
from accounts.models import (
    Authenticator,
    AuthEvent,
    FactorReset,
    RecoveryCode,
    User,
)
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import (
    DATABASE_TASKS,
    ME,
    api_client_proving,
    bearer_client,
    browser_proving,
    emailed_path,
    password_only,
    run_worker,
    sign_in,
    two_factors,
)

# Committed like production: the worker closes the connection between tasks.
pytestmark = pytest.mark.django_db(transaction=True)
DELAY = 259200
REMOVAL_TASK = "accounts.tasks.remove_factors_after_reset"


@pytest.fixture(autouse=True)
def database_tasks(settings):
    # Scheduling needs a backend that honours run_after; the worker runs it.
    settings.TASKS = DATABASE_TASKS
    settings.MFA_RESET_DELAY = DELAY


@pytest.fixture
def owner():
    user = UserFactory()
    Authenticator.objects.create(user=user, kind=Authenticator.Kind.TOTP, secret="x")
    RecoveryCode.objects.bulk_create(
        RecoveryCode(user=user, digest=f"{n:064}") for n in range(10)
    )
    return user


def start(owner, superuser):
    return services.start_factor_reset(
        actor=superuser, user=owner, reason="Lost phone", assurance=password_only()
    )


def deliver(mailoutbox):
    """Run the worker; the path of the newest email's link."""
    run_worker()
    return emailed_path(mailoutbox[-1])


def accept(client, owner, superuser, mailoutbox):
    start(owner, superuser)
    link = deliver(mailoutbox)
    client.post(link)
    return deliver(mailoutbox)  # the notice's cancel link


def removal_task():
    return DBTaskResult.objects.get(
        task_path="accounts.tasks.remove_factors_after_reset"
    )


def test_opening_the_link_only_shows_a_button(client, owner, superuser, mailoutbox):
    start(owner, superuser)
    link = deliver(mailoutbox)

    response = client.get(link)

    assert response.status_code == 200
    assert b"Accept the reset" in response.content
    assert FactorReset.objects.get().accepted_at is None


def test_accepting_schedules_the_removal_after_the_delay(
    client, owner, superuser, mailoutbox
):
    start(owner, superuser)
    link = deliver(mailoutbox)

    response = client.post(link)

    assert b"Reset accepted" in response.content
    reset = FactorReset.objects.get()
    assert reset.due_at - reset.accepted_at == timedelta(seconds=DELAY)
    assert removal_task().run_after == reset.due_at
    notice_path = deliver(mailoutbox)
    assert notice_path.startswith("/accounts/mfa/reset/")
    assert mailoutbox[-1].subject.endswith("two-factor sign-in will be removed")
    assert owner.authenticators.count() == 1
    assert AuthEvent.objects.filter(user=owner, type="factor_reset_accepted").exists()


def test_the_link_works_once(client, owner, superuser, mailoutbox):
    start(owner, superuser)
    link = deliver(mailoutbox)
    client.post(link)

    response = client.post(link)

    assert b"This link does not work" in response.content
    assert (
        DBTaskResult.objects.filter(
            task_path="accounts.tasks.remove_factors_after_reset"
        ).count()
        == 1
    )


def test_the_link_expires_after_a_day(
    client, owner, superuser, mailoutbox, time_machine
):
    start(owner, superuser)
    link = deliver(mailoutbox)
    time_machine.move_to(timezone.now() + timedelta(hours=24, seconds=1))

    response = client.post(link)

    assert b"This link does not work" in response.content
    assert FactorReset.objects.get().accepted_at is None


def test_the_link_dies_when_the_account_signs_out_everywhere(
    client, owner, superuser, mailoutbox
):
    start(owner, superuser)
    link = deliver(mailoutbox)
    services.sign_out_all(user=owner)

    response = client.post(link)

    assert b"This link does not work" in response.content


def test_the_link_dies_when_the_address_changes(client, owner, superuser, mailoutbox):
    start(owner, superuser)
    link = deliver(mailoutbox)
    owner.email = "elsewhere@example.com"
    owner.save(update_fields=["email"])

    response = client.post(link)

    assert b"This link does not work" in response.content


def test_after_the_delay_factors_and_sessions_are_gone(
    client, owner, superuser, mailoutbox, time_machine
):
    api = api_client_proving(owner, two_factors())
    browser = browser_proving(owner, two_factors())
    accept(client, owner, superuser, mailoutbox)
    run_worker()
    assert owner.authenticators.count() == 1

    time_machine.move_to(FactorReset.objects.get().due_at + timedelta(seconds=1))
    run_worker()

    assert not Authenticator.objects.filter(user=owner).exists()
    assert not RecoveryCode.objects.filter(user=owner).exists()
    assert api.get(ME).status_code == 401
    assert browser.get("/accounts/profile/").status_code == 302
    assert removal_task().return_value == "completed"
    run_worker()
    assert mailoutbox[-1].subject.startswith("Two-factor sign-in was removed")
    assert FactorReset.objects.get().completed_at is not None
    assert AuthEvent.objects.filter(user=owner, type="factor_reset_completed").exists()


def test_after_the_reset_a_staff_account_is_confined(
    client, superuser, mailoutbox, time_machine, settings
):
    clerk = UserFactory(is_staff=True)
    Authenticator.objects.create(user=clerk, kind=Authenticator.Kind.TOTP, secret="x")
    other_root = UserFactory(is_staff=True, is_superuser=True)
    accept(client, clerk, other_root, mailoutbox)
    time_machine.move_to(FactorReset.objects.get().due_at + timedelta(seconds=1))
    run_worker()
    settings.MFA_REQUIRED = "staff"

    api = bearer_client(sign_in(clerk)["access_token"])

    response = api.patch(ME, {"first_name": "X"}, format="json")
    assert response.json()["code"] == "mfa_setup_required"


def test_cancel_link_stops_the_removal(
    client, owner, superuser, mailoutbox, time_machine
):
    cancel_link = accept(client, owner, superuser, mailoutbox)

    response = client.post(cancel_link)

    assert b"Reset cancelled" in response.content
    time_machine.move_to(FactorReset.objects.get().due_at + timedelta(seconds=1))
    run_worker()
    assert owner.authenticators.count() == 1
    assert owner.recovery_codes.count() == 10
    assert removal_task().return_value == "cancelled"
    event = AuthEvent.objects.get(user=owner, type="factor_reset_cancelled")
    assert event.detail["reason"] == "cancel_link"


def test_signing_in_with_a_factor_cancels_the_reset(
    client, owner, superuser, mailoutbox, time_machine
):
    accept(client, owner, superuser, mailoutbox)

    cancelled = services.cancel_factor_reset(user=owner, reason="signed_in_with_factor")

    assert cancelled is True
    time_machine.move_to(FactorReset.objects.get().due_at + timedelta(seconds=1))
    run_worker()
    assert owner.authenticators.count() == 1
    assert mailoutbox[-1].subject.startswith("The reset of your")


def test_cancelling_with_no_reset_under_way_does_nothing(owner, mailoutbox):
    assert services.cancel_factor_reset(user=owner, reason="signed_in") is False

    run_worker()
    assert mailoutbox == []


def test_the_accept_link_cannot_cancel_and_the_cancel_link_cannot_accept(
    client, owner, superuser, mailoutbox
):
    start(owner, superuser)
    accept_link = deliver(mailoutbox)
    token = accept_link.rstrip("/").rsplit("/", 1)[1]

    with pytest.raises(InvalidToken):
        services.cancel_factor_reset_by_link(token=token)


def test_reset_is_refused_within_seven_days_of_an_address_change(
    owner, superuser, mailoutbox, time_machine
):
    AuthEvent.objects.create(user=owner, type=AuthEvent.Type.EMAIL_CHANGED)

    with pytest.raises(FactorResetRefused) as raised:
        start(owner, superuser)

    assert raised.value.code == "email_recently_changed"
    time_machine.move_to(timezone.now() + timedelta(days=7, minutes=1))
    start(owner, superuser)


def test_reset_is_refused_while_an_email_change_is_pending(owner, superuser):
    owner.pending_email = "new@example.com"
    # The email-change work adds the column; until then the attribute stands in.
    if "pending_email" in {field.name for field in User._meta.fields}:
        owner.save(update_fields=["pending_email"])

    with pytest.raises(FactorResetRefused) as raised:
        start(owner, superuser)

    assert raised.value.code == "email_change_pending"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"email_verified": False}, "email_unverified"),
        ({}, "mfa_not_enabled"),
    ],
)
def test_reset_is_refused_without_a_verified_address_or_a_factor(
    superuser, change, code
):
    user = UserFactory(**change)
    if change:
        Authenticator.objects.create(user=user, kind=Authenticator.Kind.TOTP)

    with pytest.raises(FactorResetRefused) as raised:
        start(user, superuser)

    assert raised.value.code == code


def test_reset_is_refused_while_another_is_scheduled(
    client, owner, superuser, mailoutbox
):
    accept(client, owner, superuser, mailoutbox)

    with pytest.raises(FactorResetRefused) as raised:
        start(owner, superuser)

    assert raised.value.code == "factor_reset_scheduled"


def test_a_new_reset_replaces_one_not_yet_accepted(
    client, owner, superuser, mailoutbox
):
    start(owner, superuser)
    first_link = deliver(mailoutbox)
    start(owner, superuser)

    response = client.post(first_link)

    assert b"This link does not work" in response.content
