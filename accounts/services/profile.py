"""Changing and deleting one's own account."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.assurance import Assurance
from accounts.client import NO_CLIENT, Client
from accounts.errors import (
    IncorrectPassword,
    UsernameTaken,
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
from accounts.services.email_change import checked_new_email, request_email_change
from accounts.services.reauthentication import require_recent_auth
from accounts.services.revocation import revoke_all_tokens


def update_profile(
    *,
    user: User,
    assurance: Assurance,
    client: Client = NO_CLIENT,
    actor: User | None = None,
    **changes,
) -> User:
    """Change username, email or names. A new email address is not switched to:
    it becomes a pending change the new mailbox confirms (request_email_change,
    which needs a recent sign-in); names need none. `actor`: staff acting."""
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise ValidationFailed(
            {
                name: [("This field cannot be changed here.", "read_only")]
                for name in sorted(unknown)
            }
        )
    new_email = None
    if "email" in changes:
        new_email = checked_new_email(user, changes.pop("email"))
        if new_email is not None:
            # Checked before anything is saved: a refused address change leaves
            # the names untouched too.
            require_recent_auth(user=actor or user, assurance=assurance)
    for name, value in changes.items():
        setattr(user, name, value)
    user.clean()
    errors = invalid_fields(user, list(changes))
    if errors:
        user.refresh_from_db()
        raise ValidationFailed.merge(*errors)
    errors = identifiers_taken(
        username=user.username if "username" in changes else None,
        exclude=user,
    )
    if errors:
        user.refresh_from_db()
        raise ValidationFailed.merge(*errors)
    try:
        with transaction.atomic():
            if changes:
                user.save(update_fields=list(changes))
                by = {"by": str(actor.pk)} if actor is not None else {}
                record(
                    user,
                    AuthEvent.Type.PROFILE_UPDATED,
                    client,
                    fields=sorted(changes),
                    **by,
                )
            if new_email is not None:
                request_email_change(
                    user=user,
                    email=new_email,
                    assurance=assurance,
                    client=client,
                    actor=actor,
                )
    except IntegrityError:
        user.refresh_from_db()
        taken = identifiers_taken(username=changes.get("username"), exclude=user)
        raise ValidationFailed.merge(*(taken or [UsernameTaken()])) from None
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
