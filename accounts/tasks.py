"""The send-email task, run by the django-tasks database worker
(`manage.py db_worker --no-reload`).

The worker has no retry of its own: a task that raises ends FAILED and stays so.
This task therefore schedules its own retries for failures that may pass (the SMTP
server down, slow or answering 4xx), and raises, ending FAILED where staff see it
and can retry it from the admin (accounts.admin.tasks), only when retrying is
pointless: the recipient refused for good, or EMAIL_RETRY_WINDOW spent.
"""

import logging
import smtplib
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from django_tasks import task

from accounts import email_messages

logger = logging.getLogger(__name__)
# One record per email outcome, for accounts.observability.metrics to count (a
# handler in settings' LOGGING): the task stays unaware of metrics. Its own
# logger, kept out of the console, which already has the line of logger above.
outcomes = logging.getLogger("accounts.email_outcomes")

FIRST_RETRY_DELAY = timedelta(seconds=10)
MAX_RETRY_DELAY = timedelta(minutes=10)
# smtplib raises OSError subclasses for refused connections and timeouts
# (socket.timeout is TimeoutError), SMTPException for protocol errors and replies.
TEMPORARY_ERRORS = (smtplib.SMTPException, OSError)


class EmailNotDelivered(Exception):
    """A message given up on: its task ends FAILED, visible and retryable by staff."""


@task()
def send_account_email(
    notification: str,
    user_id: str,
    extra: dict[str, Any],
    attempt: int = 1,
    first_attempt_at: str | None = None,
) -> str:
    """Render and send one account email; on a temporary failure, enqueue the next
    attempt (backoff from 10 s doubling to 10 min) until EMAIL_RETRY_WINDOW has
    passed since the first attempt.

    Order, since the retry row and this task's own result are two writes the worker
    cannot make atomic: the retry is enqueued (and committed: the worker runs tasks
    in autocommit) *before* this task returns and is marked done. If the worker dies
    in between, this row stays RUNNING and the retry still runs: nothing is lost.
    The reverse order could lose the message. We choose a rare duplicate over a
    loss: a second reset link or notice is harmless, a missing one locks a user out
    or hides a security event. (Duplicates come only from SMTP itself: a server that
    accepts a message but whose reply never arrives looks like a failure.)

    Logs carry the notification, user id, attempt and error, never the message or
    its links (token leakage into log storage).
    """
    now = timezone.now()
    first = datetime.fromisoformat(first_attempt_at) if first_attempt_at else now
    message = email_messages.build(notification, user_id, extra)
    if message is None:
        logger.info(
            "email %s to user %s skipped: nothing to send", notification, user_id
        )
        _outcome("skipped")
        return "skipped"
    try:
        message.send()
    except TEMPORARY_ERRORS as exc:
        if _permanently_refused(exc):
            logger.error(
                "email %s to user %s failed: recipient refused (%s)",
                notification,
                user_id,
                _describe(exc),
            )
            _outcome("failed")
            raise EmailNotDelivered(f"recipient refused: {_describe(exc)}") from exc
        deadline = first + timedelta(seconds=settings.EMAIL_RETRY_WINDOW)
        if now >= deadline:
            logger.error(
                "email %s to user %s failed after %d attempts since %s (%s)",
                notification,
                user_id,
                attempt,
                first.isoformat(),
                _describe(exc),
            )
            _outcome("failed")
            raise EmailNotDelivered(
                f"gave up after {attempt} attempts since {first.isoformat()}: "
                f"{_describe(exc)}"
            ) from exc
        retry_at = min(now + _backoff(attempt), deadline)
        retry = send_account_email.using(run_after=retry_at).enqueue(
            notification=notification,
            user_id=user_id,
            extra=extra,
            attempt=attempt + 1,
            first_attempt_at=first.isoformat(),
        )
        logger.warning(
            "email %s to user %s: attempt %d failed (%s); retry %s at %s",
            notification,
            user_id,
            attempt,
            _describe(exc),
            retry.id,
            retry_at.isoformat(),
        )
        _outcome("retried")
        return f"retrying as {retry.id}"
    logger.info("email %s to user %s sent (attempt %d)", notification, user_id, attempt)
    _outcome("sent")
    return "sent"


RECOVERY_KINDS = ("password_reset", "verify_email")


@task()
def answer_recovery_request(
    kind: str, email: str, ip: str | None, user_agent: str
) -> str:
    """The worker's half of forgot-password and resend-verification: find the
    account and queue its email (rendered, with its link, by send_account_email).

    Done here rather than in the request so that the request takes the same time
    whether or not the address is registered (account enumeration by timing).
    """
    # Imported here: the services queue this task, so a module-level import
    # would be a cycle (services -> tasks -> services).
    from accounts import services

    if kind not in RECOVERY_KINDS:
        raise ValueError(f"unknown recovery request {kind!r}")
    send = (
        services.send_reset_link_to_address
        if kind == "password_reset"
        else services.send_verification_link_to_address
    )
    client = services.Client(ip=ip, user_agent=user_agent)
    return "queued" if send(email=email, client=client) else "nothing to send"


@task()
def answer_signin_code_request(step_id: str, email: str) -> str:
    """The worker's half of a code sign-in request: find the account, bind the
    request's step to it and queue the email (its code made as it is rendered).
    Here rather than in the request for the same reason as
    answer_recovery_request (account enumeration by timing)."""
    # Imported here: the services queue this task (see answer_recovery_request).
    from accounts import services

    sent = services.bind_signin_code(step_id=step_id, email=email)
    return "queued" if sent else "nothing to send"


@task()
def remove_factors_after_reset(reset_id: str) -> str:
    """Carry out an accepted factor reset once MFA_RESET_DELAY has passed
    (queued with run_after). The service checks again that the reset still
    stands: the owner may have cancelled it meanwhile."""
    # Imported here: the services queue this task (see answer_recovery_request).
    from accounts import services

    return services.complete_factor_reset(reset_id=reset_id)


def _outcome(outcome: str) -> None:
    outcomes.info("email %s", outcome, extra={"email_outcome": outcome})


def _backoff(attempt: int) -> timedelta:
    return min(FIRST_RETRY_DELAY * 2 ** min(attempt - 1, 30), MAX_RETRY_DELAY)


def _permanently_refused(exc: Exception) -> bool:
    """A 5xx for every recipient: the address itself is refused, retrying will not
    change that. Other 5xx replies (authentication, sender, content) are usually a
    configuration mistake an operator fixes, so they are retried within the window."""
    if not isinstance(exc, smtplib.SMTPRecipientsRefused) or not exc.recipients:
        return False
    return all(500 <= code < 600 for code, _ in exc.recipients.values())


def _describe(exc: Exception) -> str:
    # The class and SMTP codes only: replies and recipient lists may echo addresses.
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _ in exc.recipients.values()})
        return f"{type(exc).__name__} {codes}"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{type(exc).__name__} {exc.smtp_code}"
    return f"{type(exc).__name__}: {exc}"
