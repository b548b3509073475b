"""Verifying email addresses."""

from django.db import transaction

from accounts import emails, throttles
from accounts.client import NO_CLIENT, Client
from accounts.models import AuthEvent, User
from accounts.services.audit import record
from accounts.services.links import user_for_link
from accounts.services.recovery import queue_recovery, within_recovery_cap
from accounts.services.revocation import revoke_all_tokens
from accounts.tokens import (
    email_verification_token,
)


def verify_email(*, uid: str, token: str, client: Client = NO_CLIENT) -> User:
    """Mark the address verified. The link works once and only for the address it
    was sent to. Tries are limited per address, like reset links.

    The first proof of the mailbox also signs every session out (and voids
    every other outstanding link and code): whoever registered the address
    before its owner (account pre-hijacking) must not keep a session once the
    owner takes it. A browser that verifies while signed in as the owner keeps
    its sign-in (the page renews it)."""
    throttles.hit("link", client.ip)
    with transaction.atomic():
        user = user_for_link(uid, token, email_verification_token, lock=True)
        first_proof = not user.email_verified
        user.email_verified = True
        user.save(update_fields=["email_verified"])
        if first_proof:
            revoke_all_tokens(user)
        record(user, AuthEvent.Type.EMAIL_VERIFIED, client)
    return user


def check_verification_link(*, uid: str, token: str) -> User:
    """The account a verification link is for, without using it (for the page
    that shows the confirm button)."""
    return user_for_link(uid, token, email_verification_token)


def resend_verification(*, email: str, client: Client = NO_CLIENT) -> None:
    """Ask for a new verification link to this address. The answer and the work
    are the same whatever the account; the worker sends the link
    (send_verification_link_to_address)."""
    queue_recovery("verify_email", email, client)


def send_verification_link_to_address(
    *, email: str, client: Client = NO_CLIENT
) -> bool:
    """Email a verification link to the live, active, unverified account with
    this address, within its hourly cap. Returns whether a link was queued.
    Runs in the worker, behind resend_verification."""
    user = User.objects.usable().with_email(email).filter(email_verified=False).first()
    if user is None or not within_recovery_cap("verify_email", user):
        return False
    emails.send_verification(user)
    return True
