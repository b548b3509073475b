"""What each account email says: its link and its rendered message.

The worker's half of the emails (accounts.tasks renders the message when it
runs the task): templates/emails/<notification>_subject.txt, _body.txt and
_body.html. Link tokens are made here, at sending time, and never stored in the
queue table (token leakage: whoever can read the task table, a backup or an
admin page, must not be able to reset a password).
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

from accounts import codes
from accounts.models import FactorReset, PendingStep, User
from accounts.tokens import (
    FACTOR_RESET_ACCEPT,
    FACTOR_RESET_CANCEL,
    email_change_cancel_token,
    email_change_confirm_token,
    email_verification_token,
    factor_reset_token,
    password_reset_token,
)

NOTIFICATIONS = (
    "welcome",
    "verify_email",
    "password_reset",
    "set_password",
    "password_changed",
    "email_changed",
    "enrol_code",
    "signin_code",
    "factor_reset_link",
    "factor_reset_scheduled",
    "factor_reset_cancelled",
    "factor_reset_completed",
    "factor_added",
    "factor_removed",
    "passkey_renamed",
    "passkey_counter_refused",
    "recovery_codes_regenerated",
    "recovery_code_used",
    "second_factor_failed",
    "email_change_confirm",
    "email_change_requested",
    "email_change_cancelled",
    "data_exported",
)
# The emails whose link names a factor reset, and what the link does.
FACTOR_RESET_LINKS = {
    "factor_reset_link": FACTOR_RESET_ACCEPT,
    "factor_reset_scheduled": FACTOR_RESET_CANCEL,
}
RESET_LINK = ("password_reset", "set_password")


def reset_link(user: User) -> str:
    return _link(
        user, password_reset_token, "accounts:reset_password", "reset-password"
    )


def verification_link(user: User) -> str:
    return _link(
        user, email_verification_token, "accounts:verify_email", "verify-email"
    )


def email_change_confirm_link(user: User) -> str:
    token = email_change_confirm_token.make_token(user)
    if settings.FRONTEND_URL:
        return f"{settings.FRONTEND_URL}/confirm-email/{token}"
    return settings.SITE_URL + reverse("accounts:confirm_email_change", args=[token])


def email_change_cancel_link(user: User) -> str:
    # Always the service's own page: the old mailbox's owner may use no app.
    token = email_change_cancel_token.make_token(user)
    return settings.SITE_URL + reverse("accounts:cancel_email_change", args=[token])


def _email_change_message(notification: str, user: User, extra: dict):
    """(template, recipient, link, context) of an email-change message, or None
    when the change it was queued for is no longer the pending one."""
    if user.live_pending_email is None or extra.get("change") != (
        user.pending_email_requested_at.isoformat()
    ):
        return None
    context = {"new_email": user.pending_email}
    if notification == "email_change_requested":
        cancellable = user.pending_email_aal < 2
        context["cancellable"] = cancellable
        context["security_url"] = settings.SITE_URL + reverse("accounts:security")
        link = email_change_cancel_link(user) if cancellable else None
        return notification, user.email, link, context
    taken = User.objects.live().exclude(pk=user.pk).with_email(user.pending_email)
    if taken.exists():
        return "email_change_taken", user.pending_email, None, context
    return notification, user.pending_email, email_change_confirm_link(user), context


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


def enrol_code(user: User, step_id: str) -> str | None:
    """A fresh code for a live enrolment-code step, its digest stored on the
    step; None once the step is used, replaced or expired. Made here, like the
    links, so that the code never sits in the task queue (a retried email
    carries a new code, and the earlier one dies)."""
    code = codes.random_code(codes.EMAILED_CODE_LENGTH)
    written = PendingStep.objects.filter(
        pk=step_id,
        user=user,
        purpose=PendingStep.Purpose.ENROL_CODE,
        generation=user.token_generation,
        used_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).update(
        digest=codes.digest(
            code, purpose=PendingStep.Purpose.ENROL_CODE, subject=step_id
        )
    )
    return code if written else None


def signin_code(user: User, step_id: str) -> str | None:
    """A fresh sign-in code for a live step bound to `user`, or None (made at
    sending time, like enrol_code, so it never sits in the task queue)."""
    # Imported here: the services import this module's package (cycle).
    from accounts.services.signin_code import make_signin_code

    return make_signin_code(user=user, step_id=step_id)


def factor_reset_link(reset: FactorReset, action: str) -> str:
    # From configuration, like every link (Host-header poisoning).
    token = factor_reset_token(str(reset.pk), action)
    return settings.SITE_URL + reverse("accounts:factor_reset", args=[token])


def _factor_reset_for(notification: str, user: User, extra) -> FactorReset | None:
    """The reset a reset email is about, while its link can still work: not
    cancelled or done, and for the address it was started for."""
    reset = (
        FactorReset.objects.filter(pk=extra.get("reset_id"), user=user)
        .filter(cancelled_at__isnull=True, completed_at__isnull=True)
        .first()
    )
    if reset is None or reset.email != user.email or not user.is_usable:
        return None
    accepted = reset.accepted_at is not None
    if accepted != (FACTOR_RESET_LINKS[notification] == FACTOR_RESET_CANCEL):
        return None
    return reset


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
    template, to, link, more = notification, extra.get("to"), None, {}
    if notification in ("email_change_confirm", "email_change_requested"):
        parts = _email_change_message(notification, user, extra)
        if parts is None:
            return None
        template, to, link, more = parts
    else:
        link = _link_for(notification, user)
    if link and not user.is_usable:
        return None
    code = reset = None
    if notification in FACTOR_RESET_LINKS:
        reset = _factor_reset_for(notification, user, extra)
        if reset is None:
            return None
        link = factor_reset_link(reset, FACTOR_RESET_LINKS[notification])
    if notification == "enrol_code":
        code = enrol_code(user, extra["step_id"]) if user.is_usable else None
        if code is None:
            return None
    if notification == "signin_code":
        code = signin_code(user, extra["step_id"]) if user.is_usable else None
        if code is None:
            return None
    context = {
        "user": user,
        "site_name": settings.SITE_NAME,
        "site_url": settings.SITE_URL,
        "expiry_hours": max(1, settings.PASSWORD_RESET_TIMEOUT // 3600),
        "verification_required": settings.EMAIL_VERIFICATION == "mandatory",
        "link": link,
        "code": code,
        "reset": reset,
        "reset_link_hours": 24,
        "reset_delay_hours": max(1, settings.MFA_RESET_DELAY // 3600),
        "expiry_hours_email_change": max(1, settings.EMAIL_CHANGE_TIMEOUT // 3600),
        **extra,
        **more,
        "to": to or user.email,
    }
    for moment in ("changed_at", "attempted_at"):
        if extra.get(moment):
            context[moment] = datetime.fromisoformat(extra[moment])
    prefix = f"emails/{notification}"
    if extra.get("changed_at"):
        context["changed_at"] = datetime.fromisoformat(extra["changed_at"])
    prefix = f"emails/{template}"
    # One line: a newline in a subject would be a header-injection attempt.
    subject = " ".join(render_to_string(f"{prefix}_subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"{prefix}_body.txt", context),
        to=[context["to"]],
    )
    message.attach_alternative(
        render_to_string(f"{prefix}_body.html", context), "text/html"
    )
    return message
