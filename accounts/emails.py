"""Every email the service sends: one `send_<notification>()` per message.

`send_*` only enqueues a task (inside the caller's transaction, so the message is
queued if and only if the change that caused it commits). The worker renders the
message from templates/emails/ when it runs: link tokens are made at that moment
and never stored in the queue table.
"""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import User
from accounts.tokens import email_verification_token, password_reset_token


def send_welcome(user: User) -> None:
    _send("welcome", user)


def send_verification(user: User) -> None:
    _send("verify_email", user)


def send_password_reset(user: User) -> None:
    _send("password_reset", user)


def send_set_password(user: User) -> None:
    _send("set_password", user)


def send_password_changed(user: User) -> None:
    _send("password_changed", user)


def send_email_changed(user: User, *, old_email: str) -> None:
    _send("email_changed", user, to=old_email, new_email=user.email)


def _send(notification: str, user: User, **extra) -> None:
    from accounts.tasks import send_account_email

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


def _link(user, generator, url_name, frontend_path) -> str:
    # Built from configuration, never from the request's Host header (a poisoned
    # Host would otherwise send the victim's token to the attacker's server).
    uidb64 = urlsafe_base64_encode(force_bytes(user.pk))
    token = generator.make_token(user)
    if settings.FRONTEND_URL:
        return f"{settings.FRONTEND_URL}/{frontend_path}/{uidb64}/{token}"
    return settings.SITE_URL + reverse(url_name, args=[uidb64, token])


def build(
    notification: str, user_id: str, extra: dict
) -> EmailMultiAlternatives | None:
    """Render a queued message, or None when it no longer makes sense to send."""
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        return None
    context = {
        "user": user,
        "site_name": settings.SITE_NAME,
        "site_url": settings.SITE_URL,
        "expiry_hours": max(1, settings.PASSWORD_RESET_TIMEOUT // 3600),
        **extra,
    }
    if notification in ("password_reset", "set_password"):
        context["link"] = reset_link(user)
    elif notification == "verify_email" or (
        notification == "welcome" and settings.EMAIL_VERIFICATION != "none"
    ):
        context["link"] = verification_link(user)
    prefix = f"emails/{notification}"
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
