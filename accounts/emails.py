"""Every email the service sends: one `send_<notification>()` per message.

`send_*` only enqueues a task; the worker renders the message from
templates/emails/<notification>_subject.txt, _body.txt and _body.html when it runs
(`build()`), so a slow or unreachable SMTP server never slows or fails a request.
Link tokens are made at that moment and never stored in the queue table (token
leakage: whoever can read the task table, a backup or an admin page, must not be
able to reset a password).
"""

from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import User
from accounts.tokens import email_verification_token, password_reset_token

NOTIFICATIONS = (
    "welcome",
    "verify_email",
    "password_reset",
    "set_password",
    "password_changed",
    "email_changed",
)
RESET_LINK = ("password_reset", "set_password")


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


def _now() -> str:
    # The time of the change, not of delivery (a retried message may go out later).
    return timezone.now().isoformat()


def _send(notification: str, user: User, **extra: str) -> None:
    from accounts.tasks import send_account_email

    # With the database task backend the task row is written on the caller's
    # connection, inside the caller's transaction: it commits with the change that
    # caused the email or rolls back with it. So no email announces a change that
    # never happened, and no committed change misses its email (an on_commit hook
    # or a separate queue would lose the message if the process died in between).
    # Only ids and addresses go in: never a link or a token (token leakage).
    send_account_email.enqueue(
        notification=notification, user_id=str(user.pk), extra=extra
    )


def reset_link(user: User) -> str:
    return _link(
        user, password_reset_token, "accounts:reset_password", "reset-password"
    )


def verification_link(user: User) -> str:
    return _link(
        user, email_verification_token, "accounts:verify_email", "verify-email"
    )


def _link(
    user: User, generator: PasswordResetTokenGenerator, url_name: str, path: str
) -> str:
    # Built from configuration, never from the request's Host header (Host-header
    # poisoning: a forged Host would otherwise send the victim's token to the
    # attacker's server).
    uidb64 = urlsafe_base64_encode(force_bytes(user.pk))
    token = generator.make_token(user)
    if settings.FRONTEND_URL:
        return f"{settings.FRONTEND_URL}/{path}/{uidb64}/{token}"
    return settings.SITE_URL + reverse(url_name, args=[uidb64, token])


def _link_for(notification: str, user: User) -> str | None:
    if notification in RESET_LINK:
        return reset_link(user)
    if notification == "verify_email" or (
        notification == "welcome" and settings.EMAIL_VERIFICATION != "none"
    ):
        return verification_link(user)
    return None


def build(
    notification: str, user_id: str, extra: dict[str, Any]
) -> EmailMultiAlternatives | None:
    """Render a queued message, or None when it no longer makes sense to send
    (the account is gone, or a link would be refused because it was closed)."""
    if notification not in NOTIFICATIONS:
        raise ValueError(f"unknown notification {notification!r}")
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        return None
    link = _link_for(notification, user)
    if link and not user.is_usable:
        return None
    context = {
        "user": user,
        "site_name": settings.SITE_NAME,
        "site_url": settings.SITE_URL,
        "expiry_hours": max(1, settings.PASSWORD_RESET_TIMEOUT // 3600),
        "verification_required": settings.EMAIL_VERIFICATION == "mandatory",
        "link": link,
        **extra,
    }
    if extra.get("changed_at"):
        context["changed_at"] = datetime.fromisoformat(extra["changed_at"])
    prefix = f"emails/{notification}"
    # One line: a newline in a subject would be a header-injection attempt.
    subject = " ".join(render_to_string(f"{prefix}_subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"{prefix}_body.txt", context),
        to=[extra.get("to") or user.email],
    )
    message.attach_alternative(
        render_to_string(f"{prefix}_body.html", context), "text/html"
    )
    return message
