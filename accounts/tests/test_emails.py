import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts import email_messages, emails
from accounts.models import FactorReset, PendingStep
from accounts.tests.factories import UserFactory
from accounts.tokens import email_verification_token, password_reset_token

pytestmark = pytest.mark.django_db

PENDING = "new@example.com"

SENDERS = {
    "welcome": lambda user: emails.send_welcome(user),
    "verify_email": lambda user: emails.send_verification(user),
    "password_reset": lambda user: emails.send_password_reset(user),
    "set_password": lambda user: emails.send_set_password(user),
    "password_changed": lambda user: emails.send_password_changed(user),
    "email_changed": lambda user: emails.send_email_changed(
        user, old_email="old@example.com"
    ),
    "enrol_code": lambda user: emails.send_enrol_code(
        user, step_id=str(live_enrol_step(user).pk)
    ),
    "signin_code": lambda user: emails.send_signin_code(
        user, step_id=str(live_signin_code_step(user).pk)
    ),
    "factor_reset_link": lambda user: emails.send_factor_reset_link(
        user, reset_id=str(factor_reset(user).pk)
    ),
    "factor_reset_scheduled": lambda user: emails.send_factor_reset_scheduled(
        user, reset_id=str(factor_reset(user, accepted=True).pk)
    ),
    "factor_reset_cancelled": lambda user: emails.send_factor_reset_cancelled(user),
    "factor_reset_completed": lambda user: emails.send_factor_reset_completed(user),
    "factor_added": lambda user: emails.send_factor_added(
        user, factor="Authenticator app"
    ),
    "factor_removed": lambda user: emails.send_factor_removed(
        user, factor="Authenticator app"
    ),
    "passkey_renamed": lambda user: emails.send_passkey_renamed(
        user, old_name="Passkey", new_name="Work laptop"
    ),
    "passkey_counter_refused": lambda user: emails.send_passkey_counter_refused(
        user, factor="Work laptop", ip="203.0.113.9", device="Firefox"
    ),
    "recovery_codes_regenerated": lambda user: emails.send_recovery_codes_regenerated(
        user
    ),
    "data_exported": lambda user: emails.send_data_exported(user),
    "recovery_code_used": lambda user: emails.send_recovery_code_used(
        user, remaining=1
    ),
    "second_factor_failed": lambda user: emails.send_second_factor_failed(
        user,
        abandoned=False,
        attempted_at=timezone.now(),
        ip="203.0.113.9",
        device="Firefox",
    ),
    "email_change_confirm": lambda user: emails.send_email_change_confirmation(
        with_pending_change(user)
    ),
    "email_change_requested": lambda user: emails.send_email_change_requested(
        with_pending_change(user)
    ),
    "email_change_cancelled": lambda user: emails.send_email_change_cancelled(
        user, pending_email="new@example.com"
    ),
}
RECIPIENTS = {"email_changed": "old@example.com", "email_change_confirm": PENDING}


def with_pending_change(user):
    user.pending_email = PENDING
    user.pending_email_requested_at = timezone.now()
    user.save(update_fields=["pending_email", "pending_email_requested_at"])
    return user


def factor_reset(user, accepted=False):
    now = timezone.now()
    return FactorReset.objects.create(
        user=user,
        reason="Lost phone",
        email=user.email,
        generation=user.token_generation,
        link_expires_at=now + timedelta(hours=24),
        accepted_at=now if accepted else None,
        due_at=now + timedelta(days=3) if accepted else None,
    )


def live_enrol_step(user):
    return PendingStep.objects.create(
        purpose=PendingStep.Purpose.ENROL_CODE,
        digest="0" * 64,
        user=user,
        generation=user.token_generation,
        expires_at=timezone.now() + timedelta(minutes=10),
    )


def live_signin_code_step(user):
    return PendingStep.objects.create(
        purpose=PendingStep.Purpose.SIGNIN_CODE,
        digest="1" * 64,
        user=user,
        generation=user.token_generation,
        payload={"email": user.email},
        expires_at=timezone.now() + timedelta(minutes=10),
    )


@pytest.fixture
def db_tasks(settings):
    """The production task backend: rows in the database, run by the worker."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def html_of(message):
    (html, mimetype) = message.alternatives[0]
    assert mimetype == "text/html"
    return html


def test_every_notification_has_a_sender():
    assert set(SENDERS) == set(email_messages.NOTIFICATIONS)


@pytest.mark.parametrize("notification", email_messages.NOTIFICATIONS)
def test_every_email_has_text_and_html_parts_naming_the_site(
    notification, user, mailoutbox, settings
):
    settings.SITE_NAME = "Acme Login"

    SENDERS[notification](user)

    (message,) = mailoutbox
    assert "Acme Login" in message.subject
    assert "Acme Login" in message.body
    assert "Acme Login" in html_of(message)
    assert settings.SITE_URL in message.body
    assert html_of(message).lstrip().startswith("<!DOCTYPE html>")
    assert "\n" not in message.subject


@pytest.mark.parametrize("notification", email_messages.NOTIFICATIONS)
def test_every_email_goes_to_the_right_address(notification, user, mailoutbox):
    expected = RECIPIENTS.get(notification, user.email)

    SENDERS[notification](user)

    assert mailoutbox[0].to == [expected]


@pytest.mark.parametrize("notification", email_messages.NOTIFICATIONS)
def test_html_part_loads_nothing_from_elsewhere(notification, user, mailoutbox):
    SENDERS[notification](user)

    html = html_of(mailoutbox[0])
    assert "<img" not in html
    assert "<link" not in html
    assert "<script" not in html
    assert "src=" not in html


def test_subjects_are_specific_to_each_email(user, mailoutbox):
    for send in SENDERS.values():
        send(user)

    subjects = [message.subject for message in mailoutbox]
    assert len(set(subjects)) == len(subjects)


def test_reset_email_gives_link_expiry_and_what_to_do_if_it_was_not_you(
    user, mailoutbox, settings
):
    settings.PASSWORD_RESET_TIMEOUT = 3 * 3600

    emails.send_password_reset(user)

    (message,) = mailoutbox
    for part in (message.body, html_of(message)):
        assert f"{settings.SITE_URL}/accounts/password/reset/" in part
        assert "expires in 3 hours" in part
        assert "ignore this email" in part


def test_set_password_email_carries_an_ordinary_reset_link(user, mailoutbox):
    emails.send_set_password(user)

    assert "/accounts/password/reset/" in mailoutbox[0].body


def test_password_changed_email_says_when_and_links_to_forgot_password(
    user, mailoutbox, settings, time_machine
):
    time_machine.move_to("2031-05-06 07:08:09+00:00", tick=False)

    emails.send_password_changed(user)

    (message,) = mailoutbox
    for part in (message.body, html_of(message)):
        assert "6 May 2031 at 07:08 UTC" in part
        assert f"{settings.SITE_URL}/accounts/password/forgot/" in part
        assert "wasn't you" in part


def test_email_changed_notice_goes_to_old_address_and_names_the_new_one(
    user, mailoutbox
):
    emails.send_email_changed(user, old_email="before@example.com")

    (message,) = mailoutbox
    assert message.to == ["before@example.com"]
    assert user.email in message.body
    assert user.email in html_of(message)


def test_text_part_is_not_html_escaped(mailoutbox):
    user = UserFactory(username="o'brien&co")

    emails.send_password_changed(user)

    assert "Hello o'brien&co," in mailoutbox[0].body
    assert "Hello o&#x27;brien&amp;co," in html_of(mailoutbox[0])


def test_welcome_email_says_verification_is_required_when_mandatory(
    user, mailoutbox, settings
):
    settings.EMAIL_VERIFICATION = "mandatory"

    emails.send_welcome(user)

    assert "Before you can sign in" in mailoutbox[0].body


def test_welcome_email_has_no_link_when_verification_is_off(user, mailoutbox, settings):
    settings.EMAIL_VERIFICATION = "none"

    emails.send_welcome(user)

    assert "/verify-email/" not in mailoutbox[0].body
    assert "/verify-email/" not in html_of(mailoutbox[0])


def test_email_for_a_deleted_account_is_skipped(user, mailoutbox):
    user_id = str(user.pk)
    user.delete()

    message = email_messages.build("password_changed", user_id, {})

    assert message is None


def test_reset_link_is_not_sent_to_a_deactivated_account(user):
    user.is_active = False
    user.save()

    message = email_messages.build("password_reset", str(user.pk), {})

    assert message is None


@pytest.mark.django_db(transaction=True)
def test_email_is_queued_in_the_database_when_the_transaction_commits(
    user, db_tasks, mailoutbox
):
    with transaction.atomic():
        emails.send_password_reset(user)

    (row,) = DBTaskResult.objects.all()
    assert row.task_path == "accounts.tasks.send_account_email"
    assert row.status == "READY"
    assert mailoutbox == []


@pytest.mark.django_db(transaction=True)
def test_rolled_back_transaction_queues_no_email(user, db_tasks):
    with pytest.raises(RuntimeError), transaction.atomic():
        emails.send_password_reset(user)
        raise RuntimeError("the change failed")

    assert not DBTaskResult.objects.exists()


def test_queued_email_holds_no_token(user, db_tasks):
    user.email_verified = False
    user.save()

    with transaction.atomic():
        emails.send_password_reset(user)
        emails.send_verification(user)
        emails.send_welcome(user)

    stored = json.dumps([row.args_kwargs for row in DBTaskResult.objects.all()])
    assert password_reset_token.make_token(user) not in stored
    assert email_verification_token.make_token(user) not in stored
    assert "/reset" not in stored
    assert "/verify" not in stored
    for row in DBTaskResult.objects.all():
        assert set(row.args_kwargs["kwargs"]) == {"notification", "user_id", "extra"}
        assert row.args_kwargs["kwargs"]["extra"] == {}
