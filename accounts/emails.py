"""Every email the service sends: one `send_<notification>()` per message.

`send_*` only enqueues a task; the worker renders the message
(accounts.email_messages) when it runs, so a slow or unreachable SMTP server
never slows or fails a request.
"""

from datetime import datetime

from django.utils import timezone

from accounts.models import User
from accounts.tasks import send_account_email


def send_welcome(user: User) -> None:
    _send("welcome", user)


def send_verification(user: User) -> None:
    _send("verify_email", user)


def send_password_reset(user: User) -> None:
    _send("password_reset", user)


def send_set_password(user: User) -> None:
    _send("set_password", user)


def send_password_changed(user: User) -> None:
    _send("password_changed", user, changed_at=_now())


def send_email_changed(user: User, *, old_email: str) -> None:
    _send("email_changed", user, to=old_email, new_email=user.email, changed_at=_now())


def send_enrol_code(user: User, *, step_id: str) -> None:
    # The step's id, not the code: the worker makes the code as it sends.
    _send("enrol_code", user, step_id=step_id)


def send_signin_code(user: User, *, step_id: str) -> None:
    # The step's id, not the code: the worker makes the code as it sends.
    _send("signin_code", user, step_id=step_id)


def send_factor_reset_link(user: User, *, reset_id: str) -> None:
    _send("factor_reset_link", user, reset_id=reset_id)


def send_factor_reset_scheduled(user: User, *, reset_id: str) -> None:
    _send("factor_reset_scheduled", user, reset_id=reset_id)


def send_factor_reset_cancelled(user: User) -> None:
    _send("factor_reset_cancelled", user, changed_at=_now())


def send_factor_reset_completed(user: User) -> None:
    _send("factor_reset_completed", user, changed_at=_now())


def send_factor_added(user: User, *, factor: str) -> None:
    _send("factor_added", user, factor=factor, changed_at=_now())


def send_factor_removed(user: User, *, factor: str) -> None:
    _send("factor_removed", user, factor=factor, changed_at=_now())


def send_passkey_renamed(user: User, *, old_name: str, new_name: str) -> None:
    _send(
        "passkey_renamed",
        user,
        old_name=old_name,
        new_name=new_name,
        changed_at=_now(),
    )


def send_passkey_counter_refused(
    user: User, *, factor: str, ip: str, device: str
) -> None:
    """A passkey's signature counter went backwards or stood still: the
    credential may have been copied off its authenticator."""
    _send(
        "passkey_counter_refused",
        user,
        factor=factor,
        ip=ip,
        device=device,
        attempted_at=_now(),
    )


def send_recovery_codes_regenerated(user: User) -> None:
    _send("recovery_codes_regenerated", user, changed_at=_now())


def send_recovery_code_used(user: User, *, remaining: int) -> None:
    _send("recovery_code_used", user, remaining=str(remaining), changed_at=_now())


def send_second_factor_failed(
    user: User, *, abandoned: bool, attempted_at: datetime, ip: str, device: str
) -> None:
    """Someone gave the account's first factor but not its second."""
    _send(
        "second_factor_failed",
        user,
        abandoned="yes" if abandoned else "",
        attempted_at=attempted_at.isoformat(),
        ip=ip,
        device=device,
    )


def send_email_change_confirmation(user: User) -> None:
    """To the pending address: its confirmation link, or, when another account
    already has that address, a notice saying so (the worker decides, so the
    request answers the same either way)."""
    _send("email_change_confirm", user, change=_change_of(user))


def send_email_change_requested(user: User) -> None:
    """To the current address: a change was asked for, with a cancel link
    unless it was asked for with a second factor."""
    _send("email_change_requested", user, change=_change_of(user))


def send_email_change_cancelled(user: User, *, pending_email: str) -> None:
    _send("email_change_cancelled", user, new_email=pending_email, changed_at=_now())


def send_data_exported(user: User) -> None:
    _send("data_exported", user, changed_at=_now())


def _change_of(user: User) -> str:
    # Names the pending change: a message queued for a change that has since
    # been replaced, cancelled or confirmed is not sent.
    return user.pending_email_requested_at.isoformat()


def _now() -> str:
    # The time of the change, not of delivery (a retried message may go out later).
    return timezone.now().isoformat()


def _send(notification: str, user: User, **extra: str) -> None:
    # With the database task backend the task row is written on the caller's
    # connection, inside the caller's transaction: it commits with the change that
    # caused the email or rolls back with it. So no email announces a change that
    # never happened, and no committed change misses its email (an on_commit hook
    # or a separate queue would lose the message if the process died in between).
    # Only ids and addresses go in: never a link or a token (token leakage).
    send_account_email.enqueue(
        notification=notification, user_id=str(user.pk), extra=extra
    )
