"""Verifying email addresses."""

from django.db import transaction

from accounts import emails, throttles
from accounts.models import AuthEvent, User
from accounts.services._base import NO_CLIENT, Client, _record, _user_for_link
from accounts.tokens import (
    email_verification_token,
)


def verify_email(*, uid: str, token: str, client: Client = NO_CLIENT) -> User:
    """Mark the address verified. The link works once and only for the address it
    was sent to. Tries are limited per address, like reset links."""
    throttles.hit("link", client.ip)
    with transaction.atomic():
        user = _user_for_link(uid, token, email_verification_token, lock=True)
        user.email_verified = True
        user.save(update_fields=["email_verified"])
        _record(user, AuthEvent.Type.EMAIL_VERIFIED, client)
    return user


def resend_verification(*, email: str, client: Client = NO_CLIENT) -> None:
    """Queue a new verification link for an active, unverified account; silently
    nothing otherwise (no enumeration)."""
    throttles.hit("password", client.ip, email)
    user = (
        User.objects.with_email(email)
        .filter(is_active=True, deleted_at__isnull=True, email_verified=False)
        .first()
    )
    if user is not None:
        with transaction.atomic():
            emails.send_verification(user)
