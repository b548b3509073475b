"""Delivery through a real SMTP server (aiosmtpd) and the real database worker.

These tests commit (`transaction=True`), like production: the worker calls
close_old_connections(), which closes a connection it finds inside a transaction,
so within pytest-django's per-test transaction every query after the first worker
loop fails ("connection is closed" on PostgreSQL and SQLite alike).
"""

import re
import socket
from datetime import timedelta
from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts import services
from accounts.models import User
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import ADMIN_TASKS, run_worker

pytestmark = pytest.mark.django_db(transaction=True)

NEW_PASSWORD = "a brand new passphrase"


class Recorder:
    """An SMTP server's handler: keeps what it accepts, refuses when told to."""

    def __init__(self):
        self.messages = []
        self.refuse_with = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse_with:
            return self.refuse_with
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            (
                envelope.rcpt_tos,
                message_from_bytes(envelope.content, policy=default_policy),
            )
        )
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self, port):
        self.port = port
        self.handler = Recorder()
        self.controller = None

    @property
    def messages(self):
        return self.handler.messages

    def start(self):
        self.controller = Controller(
            self.handler, hostname="127.0.0.1", port=self.port, server_hostname="test"
        )
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp(settings):
    """A running SMTP server on a free port, the SMTP email backend pointed at
    it, and the database task backend (the production pair)."""
    server = SmtpServer(free_port())
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 2
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    server.start()
    yield server
    server.stop()


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def ready_rows():
    return list(DBTaskResult.objects.filter(status="READY"))


def attempt_of(row) -> int:
    return row.args_kwargs["kwargs"].get("attempt", 1)


def test_worker_delivers_a_queued_email_over_smtp(smtp):
    user = UserFactory()
    services.send_reset_link_to_address(email=user.email)
    assert smtp.messages == []

    run_worker()

    ((recipients, message),) = smtp.messages
    assert recipients == [user.email]
    assert message["Subject"] == "Reset your Identity password"
    assert message.get_body(preferencelist=("html",)) is not None
    (row,) = DBTaskResult.objects.all()
    assert row.status == "SUCCESSFUL"
    assert row.return_value == "sent"


def test_worker_answers_a_forgot_password_request_with_an_email(smtp):
    user = UserFactory()
    services.request_password_reset(email=user.email.upper())
    assert smtp.messages == []

    run_worker()

    ((recipients, message),) = smtp.messages
    assert recipients == [user.email]
    assert message["Subject"] == "Reset your Identity password"
    returned = set(DBTaskResult.objects.values_list("return_value", flat=True))
    assert returned == {"queued", "sent"}


def test_delivered_reset_link_sets_the_password(smtp, settings):
    user = UserFactory()
    services.send_reset_link_to_address(email=user.email)
    run_worker()
    ((_, message),) = smtp.messages
    uid, token = re.search(
        re.escape(settings.SITE_URL) + r"/accounts/password/reset/([^/]+)/([^/\s]+)/",
        text_of(message),
    ).groups()

    services.reset_password(uid=uid, token=token, new_password=NEW_PASSWORD)

    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_email_queued_during_an_outage_is_delivered_once_the_server_is_back(
    smtp, time_machine
):
    user = UserFactory()
    smtp.stop()
    services.send_reset_link_to_address(email=user.email)

    run_worker()

    (first,) = DBTaskResult.objects.exclude(status="READY")
    (retry,) = ready_rows()
    assert first.status == "SUCCESSFUL"
    assert first.return_value == f"retrying as {retry.id}"
    assert attempt_of(retry) == 2
    assert timedelta(seconds=9) < retry.run_after - first.started_at
    assert retry.run_after - first.started_at < timedelta(seconds=11)

    smtp.start()
    run_worker()
    assert smtp.messages == []

    time_machine.move_to(retry.run_after + timedelta(seconds=1))
    run_worker()
    run_worker()

    assert [recipients for recipients, _ in smtp.messages] == [[user.email]]
    assert ready_rows() == []
    statuses = sorted(DBTaskResult.objects.values_list("return_value", flat=True))
    assert statuses == ["retrying as " + str(retry.id), "sent"]


def test_failed_attempt_is_logged_without_message_or_link(smtp, caplog):
    user = UserFactory()
    smtp.stop()
    services.send_reset_link_to_address(email=user.email)

    with caplog.at_level("INFO", logger="accounts.tasks"):
        run_worker()

    (record,) = [r for r in caplog.records if r.name == "accounts.tasks"]
    assert record.levelname == "WARNING"
    assert "password_reset" in record.getMessage()
    assert "ConnectionRefusedError" in record.getMessage()
    assert "/accounts/password/reset/" not in caplog.text
    assert "Reset your" not in caplog.text


def test_retries_back_off_from_10_seconds_to_10_minutes_then_fail_after_window(
    smtp, settings, time_machine
):
    settings.EMAIL_RETRY_WINDOW = 3600
    start = timezone.now()
    time_machine.move_to(start, tick=False)
    user = UserFactory()
    smtp.stop()
    services.send_reset_link_to_address(email=user.email)
    delays = []

    run_worker()
    while rows := ready_rows():
        (retry,) = rows
        delays.append(int((retry.run_after - timezone.now()).total_seconds()))
        time_machine.move_to(retry.run_after, tick=False)
        run_worker()

    assert delays[:7] == [10, 20, 40, 80, 160, 320, 600]
    assert max(delays) == 600
    assert sum(delays) == 3600
    (last,) = DBTaskResult.objects.filter(status="FAILED")
    assert last.exception_class_path == "accounts.tasks.EmailNotDelivered"
    assert attempt_of(last) == len(delays) + 1
    assert smtp.messages == []


def test_recipient_refused_for_good_fails_at_once(smtp, caplog):
    smtp.handler.refuse_with = "550 5.1.1 No such user here"
    user = UserFactory()
    services.send_reset_link_to_address(email=user.email)

    with caplog.at_level("ERROR", logger="accounts.tasks"):
        run_worker()

    (row,) = DBTaskResult.objects.all()
    assert row.status == "FAILED"
    assert row.exception_class_path == "accounts.tasks.EmailNotDelivered"
    assert "recipient refused" in caplog.text


def test_recipient_refused_for_now_is_retried(smtp):
    smtp.handler.refuse_with = "450 4.2.1 Mailbox busy, try later"
    user = UserFactory()
    services.send_reset_link_to_address(email=user.email)

    run_worker()

    (retry,) = ready_rows()
    assert attempt_of(retry) == 2
    assert not DBTaskResult.objects.filter(status="FAILED").exists()


@pytest.fixture
def failed_email(smtp):
    """A reset email the worker gave up on: its recipient was refused."""
    smtp.handler.refuse_with = "550 5.1.1 No such user here"
    user = UserFactory()
    services.send_reset_link_to_address(email=user.email)
    run_worker()
    smtp.handler.refuse_with = None
    return DBTaskResult.objects.get(status="FAILED")


def retry_action(client, *rows):
    return client.post(
        ADMIN_TASKS,
        {
            "action": "retry_failed_emails",
            "_selected_action": [str(row.pk) for row in rows],
        },
    )


def test_task_list_shows_which_email_failed(superuser_client, failed_email):
    response = superuser_client.get(ADMIN_TASKS + "?status__exact=FAILED")

    assert response.status_code == 200
    assert "password_reset" in response.content.decode()
    assert "Retry selected failed emails" in response.content.decode()


def test_staff_retry_of_a_failed_email_delivers_it_once(
    smtp, superuser_client, failed_email
):
    first = retry_action(superuser_client, failed_email)
    second = retry_action(superuser_client, failed_email)
    run_worker()

    assert first.status_code == second.status_code == 302
    ((recipients, _),) = smtp.messages
    user_id = failed_email.args_kwargs["kwargs"]["user_id"]
    assert recipients == [User.objects.get(pk=user_id).email]
    (retried,) = DBTaskResult.objects.filter(return_value="sent")
    assert retried.args_kwargs["kwargs"] == failed_email.args_kwargs["kwargs"]
    failed_email.refresh_from_db()
    assert failed_email.return_value == {"retried_as": str(retried.pk)}


def test_retry_action_leaves_emails_that_did_not_fail_alone(smtp, superuser_client):
    user = UserFactory()
    services.send_reset_link_to_address(email=user.email)
    run_worker()
    (sent,) = DBTaskResult.objects.all()

    retry_action(superuser_client, sent)
    run_worker()

    assert len(smtp.messages) == 1
    assert DBTaskResult.objects.count() == 1


def test_staff_who_may_only_view_tasks_cannot_retry(smtp, failed_email):
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_dbtaskresult"))
    client = Client()
    client.force_login(viewer)

    listed = client.get(ADMIN_TASKS)
    retry_action(client, failed_email)
    run_worker()

    assert listed.status_code == 200
    assert "Retry selected failed emails" not in listed.content.decode()
    assert smtp.messages == []
    assert DBTaskResult.objects.count() == 1
