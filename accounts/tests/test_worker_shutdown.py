"""A deploy stops the task worker with SIGTERM: it must finish the email it is
sending, exit, and leave the rest queued for the next worker, so every message
arrives exactly once.

Real processes throughout: the worker (`manage.py db_worker`) runs as a
subprocess against its own PostgreSQL database, and delivers to an aiosmtpd
server that takes two seconds to answer each message, so the signal lands in
the middle of a delivery.
"""

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from email import message_from_bytes
from email.policy import default as default_policy

import psycopg
import pytest
from aiosmtpd.controller import Controller

from accounts.tests.helpers import PROJECT_ROOT, free_port

pytestmark = pytest.mark.slow

PG = "postgres://postgres@127.0.0.1:5432"
# The process id keeps concurrent runs on one machine (two checkouts, CI and a
# developer) from dropping each other's database.
DATABASE = f"identity_worker_test_{os.getpid()}"
RECIPIENTS = [f"person{i}@example.com" for i in range(4)]
DELIVERY_SECONDS = 2.0
TASK_TABLE = "django_tasks_database_dbtaskresult"


class SlowSink:
    """An SMTP server's handler that answers DATA only after a delay, and keeps
    (recipients, subject) of every message it accepted."""

    def __init__(self, delay: float):
        self.delay = delay
        self.accepted: list[tuple[tuple[str, ...], str]] = []
        self.delivering = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        self.delivering.set()
        await asyncio.sleep(self.delay)
        message = message_from_bytes(envelope.content, policy=default_policy)
        self.accepted.append((tuple(envelope.rcpt_tos), str(message["Subject"])))
        return "250 Message accepted for delivery"


def task_statuses() -> dict[str, int]:
    with psycopg.connect(f"{PG}/{DATABASE}") as conn:
        rows = conn.execute(
            f"SELECT status, count(*) FROM {TASK_TABLE} GROUP BY status"  # noqa: S608
        ).fetchall()
    return dict(rows)


def wait_for(condition, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(0.05)


@pytest.fixture
def sink():
    handler = SlowSink(DELIVERY_SECONDS)
    controller = Controller(
        handler, hostname="127.0.0.1", port=free_port(), server_hostname="sink"
    )
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


@pytest.fixture
def worker_env(sink):
    """A migrated database of its own, holding four queued emails."""
    _, port = sink
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "identity_site.settings",
        "DATABASE_URL": f"{PG}/{DATABASE}",
        "DEBUG": "false",
        "SECRET_KEY": "worker-shutdown-test-secret-key-0123456789abcdefghij",
        "JWT_SIGNING_KEY": "worker-shutdown-test-jwt-signing-key-0123456789abcdef",
        "ALLOWED_HOSTS": "127.0.0.1",
        "EMAIL_URL": f"smtp://127.0.0.1:{port}",
        "LOG_LEVEL": "INFO",
    }
    env.pop("REDIS_URL", None)
    env.pop("CACHE_URL", None)
    manage = [sys.executable, "manage.py"]
    subprocess.run(
        [*manage, "migrate", "--noinput", "-v", "0"],
        cwd=PROJECT_ROOT,
        env=env,
        check=True,
        timeout=300,
    )
    subprocess.run(
        [*manage, "createcachetable"], cwd=PROJECT_ROOT, env=env, check=True, timeout=60
    )
    enqueue = (
        "from accounts import emails\n"
        "from accounts.models import User\n"
        f"for address in {RECIPIENTS!r}:\n"
        "    user = User.objects.create_user(\n"
        "        username=address.split('@')[0], email=address, password=None\n"
        "    )\n"
        "    emails.send_password_changed(user)\n"
    )
    subprocess.run(
        [*manage, "shell", "-c", enqueue],
        cwd=PROJECT_ROOT,
        env=env,
        check=True,
        timeout=60,
    )
    try:
        yield env
    finally:
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


def start_worker(env) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "db_worker",
            "--no-reload",
            "--no-startup-delay",
            "--interval",
            "0.2",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()
        process.wait(timeout=10)


def test_sigterm_lets_the_worker_finish_its_email_and_none_is_lost_or_sent_twice(
    sink, worker_env
):
    handler, _ = sink
    assert task_statuses() == {"READY": len(RECIPIENTS)}

    worker = start_worker(worker_env)
    try:
        wait_for(handler.delivering.is_set, 60, "the worker never started sending")
        worker.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        worker.wait(timeout=30)
    finally:
        stop(worker)
    stopped_after = time.monotonic() - signalled
    first_log = worker.stderr.read()

    assert worker.returncode == 0, first_log
    assert "shutting down gracefully" in first_log
    # It waited for the SMTP server's answer, then took nothing more.
    assert 0.5 < stopped_after < DELIVERY_SECONDS + 10
    assert len(handler.accepted) == 1
    assert task_statuses() == {"SUCCESSFUL": 1, "READY": len(RECIPIENTS) - 1}

    worker = start_worker(worker_env)
    try:
        wait_for(
            lambda: task_statuses() == {"SUCCESSFUL": len(RECIPIENTS)},
            60,
            "the restarted worker did not send the rest",
        )
        time.sleep(1)  # room for a duplicate to show up
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    finally:
        stop(worker)

    delivered = sorted(recipients for recipients, _ in handler.accepted)
    assert delivered == [(address,) for address in sorted(RECIPIENTS)]
    assert all(subject for _, subject in handler.accepted)
    assert worker.returncode == 0
