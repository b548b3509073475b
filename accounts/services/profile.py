"""Changing and deleting one's own account."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import emails
from accounts.assurance import Assurance
from accounts.client import NO_CLIENT, Client
from accounts.errors import (
    EmailTaken,
    IncorrectPassword,
    ValidationFailed,
)
from accounts.models import AuthEvent, User
from accounts.services.account_checks import (
    PROFILE_FIELDS,
    identifiers_taken,
    invalid_fields,
)
from accounts.services.audit import record
from accounts.services.current_password import check_current_password
from accounts.services.reauthentication import require_recent_auth
from accounts.services.revocation import revoke_all_tokens


def update_profile(*, user: User, client: Client = NO_CLIENT, **changes) -> User:
    """Change username, email or names. A new email address must be verified
    again: queues a verification to it and a notice to the old one."""
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise ValidationFailed(
            {
                name: [("This field cannot be changed here.", "read_only")]
                for name in sorted(unknown)
            }
        )
    old_email = user.email
    for name, value in changes.items():
        setattr(user, name, value)
    user.clean()
    email_changed = user.email != old_email
    errors = invalid_fields(user, list(changes))
    if errors:
        user.refresh_from_db()
        raise ValidationFailed.merge(*errors)
    errors = identifiers_taken(
        email=user.email if "email" in changes else None,
        username=user.username if "username" in changes else None,
        exclude=user,
    )
    if errors:
        user.refresh_from_db()
        raise ValidationFailed.merge(*errors)
    if email_changed:
        user.email_verified = False
    try:
        with transaction.atomic():
            user.save(update_fields=[*changes, "email_verified"])
            if email_changed:
                record(user, AuthEvent.Type.EMAIL_CHANGED, client)
                emails.send_verification(user)
                emails.send_email_changed(user, old_email=old_email)
            elif changes:
                record(
                    user, AuthEvent.Type.PROFILE_UPDATED, client, fields=sorted(changes)
                )
    except IntegrityError:
        user.refresh_from_db()
        taken = identifiers_taken(
            email=changes.get("email"), username=changes.get("username"), exclude=user
        )
        raise ValidationFailed.merge(*(taken or [EmailTaken()])) from None
    return user


def delete_account(
    *,
    user: User,
    password: str,
    assurance: Assurance,
    client: Client = NO_CLIENT,
    session_id: str | None = None,
) -> None:
    """Soft-delete the account after the password confirms it: it is deactivated,
    every token and session dies, and to the outside it no longer exists.
    Wrong passwords count against `session_id` (see check_current_password).
    Needs a recent sign-in (an unattended browser must not end the account)."""
    require_recent_auth(user=user, assurance=assurance)
    check_current_password(
        user,
        password,
        session_id=session_id,
        client=client,
        error=IncorrectPassword(field="password", message="Incorrect password"),
    )
    with transaction.atomic():
        user.deleted_at = timezone.now()
        user.is_active = False
        user.save(update_fields=["deleted_at", "is_active"])
        revoke_all_tokens(user)
        record(user, AuthEvent.Type.ACCOUNT_DELETED, client)
