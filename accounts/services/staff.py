"""What staff do to other accounts (staff API and admin)."""

from django.db import transaction

from accounts import emails
from accounts.errors import (
    PermissionDenied,
    ValidationFailed,
)
from accounts.models import AuthEvent, User
from accounts.services._base import (
    NO_CLIENT,
    PROFILE_FIELDS,
    Client,
    _email_taken,
    _insert_account,
    _prepare_account,
    _record,
    _revoke_everything,
    _username_taken,
    security_log,
)
from accounts.services.profile import update_profile

STAFF_FIELDS = (
    *PROFILE_FIELDS,
    "is_active",
    "is_staff",
    "is_superuser",
    "email_verified",
    "tier",
)


PRIVILEGE_FIELDS = ("is_staff", "is_superuser")


def create_user(
    *,
    actor: User,
    email: str,
    username: str,
    password: str | None = None,
    client: Client = NO_CLIENT,
    **fields,
) -> User:
    """Create an account on a staff member's behalf. Without a password the
    account gets an unusable one and a set-password email (an ordinary reset
    link) is queued."""
    _check_privileges(actor, fields)
    user = User(email=email, username=username, **fields)
    return add_user(actor=actor, user=user, password=password, client=client)


def add_user(
    *, actor: User, user: User, password: str | None, client: Client = NO_CLIENT
) -> User:
    """create_user for an account another door has already built (the admin's
    add form): the same checks, the same event, the same set-password email."""
    _check_privileges(actor, [name for name in PRIVILEGE_FIELDS if getattr(user, name)])
    # No password: an unusable one, and the owner sets theirs from the link.
    _prepare_account(user, password or None)
    with transaction.atomic():
        _insert_account(user)
        _record(user, AuthEvent.Type.SIGNUP, client, created_by=str(actor.pk))
        if not password:
            emails.send_set_password(user)
    return user


def update_user(
    *, actor: User, user: User, client: Client = NO_CLIENT, **changes
) -> User:
    """Change an account as staff. Only superusers grant or remove staff and
    superuser rights; deactivating an account revokes all of its tokens."""
    _check_privileges(actor, changes)
    flags = {
        name: changes.pop(name)
        for name in STAFF_FIELDS
        if name not in PROFILE_FIELDS and name in changes
    }
    deactivating = flags.get("is_active") is False and user.is_active
    activating = flags.get("is_active") is True and not user.is_active
    with transaction.atomic():
        if changes:
            update_profile(user=user, client=client, **changes)
        if flags:
            for name, value in flags.items():
                setattr(user, name, value)
            user.save(update_fields=list(flags))
        if deactivating:
            _revoke_everything(user)
            _record(user, AuthEvent.Type.ACCOUNT_DEACTIVATED, client, by=str(actor.pk))
        elif activating:
            _record(user, AuthEvent.Type.ACCOUNT_ACTIVATED, client, by=str(actor.pk))
    return user


def delete_user(*, actor: User, user: User) -> None:
    """Hard-delete an account (its sessions and audit trail go with it)."""
    if (user.is_staff or user.is_superuser) and not actor.is_superuser:
        raise PermissionDenied()
    security_log.info(
        "account_purged",
        extra={"event": "account_purged", "user_id": str(user.pk), "by": str(actor.pk)},
    )
    user.delete()


def _check_privileges(actor: User, changes: dict) -> None:
    if any(name in changes for name in PRIVILEGE_FIELDS) and not actor.is_superuser:
        raise PermissionDenied("Only a superuser can grant or remove staff rights.")


def _check_may_manage(actor: User, user: User) -> None:
    # Privilege escalation: a staff member must not lock out, sign out or bring
    # back the accounts of other staff or of superusers (delete_user's rule).
    if (user.is_staff or user.is_superuser) and not actor.is_superuser:
        raise PermissionDenied("Only a superuser can act on a staff account.")


def activate_user(*, actor: User, user: User, client: Client = NO_CLIENT) -> bool:
    """Let a deactivated account sign in again (its old tokens stay dead).
    Returns False when there was nothing to do; a deleted account needs
    restore_user instead."""
    _check_may_manage(actor, user)
    if user.is_active or user.deleted_at is not None:
        return False
    with transaction.atomic():
        user.is_active = True
        user.save(update_fields=["is_active"])
        _record(user, AuthEvent.Type.ACCOUNT_ACTIVATED, client, by=str(actor.pk))
    return True


def deactivate_user(*, actor: User, user: User, client: Client = NO_CLIENT) -> None:
    """Stop an account from signing in. Every token and session it holds dies at
    once, so they stay dead if it is activated again."""
    _check_may_manage(actor, user)
    with transaction.atomic():
        user.is_active = False
        user.save(update_fields=["is_active"])
        _revoke_everything(user)
        _record(user, AuthEvent.Type.ACCOUNT_DEACTIVATED, client, by=str(actor.pk))


def restore_user(*, actor: User, user: User, client: Client = NO_CLIENT) -> bool:
    """Undo a soft delete: the account exists again and may sign in. Tokens from
    before the deletion stay dead. Returns False for an account not deleted."""
    _check_may_manage(actor, user)
    if user.deleted_at is None:
        return False
    # Someone may have signed up with the address or name since the deletion.
    taken = [
        e
        for e in (
            _email_taken(user.email, exclude=user),
            _username_taken(user.username, exclude=user),
        )
        if e
    ]
    if taken:
        raise ValidationFailed.merge(*taken)
    with transaction.atomic():
        user.deleted_at = None
        user.is_active = True
        user.save(update_fields=["deleted_at", "is_active"])
        _record(user, AuthEvent.Type.ACCOUNT_RESTORED, client, by=str(actor.pk))
    return True


def revoke_user_tokens(*, actor: User, user: User, client: Client = NO_CLIENT) -> None:
    """Sign an account out everywhere on its owner's behalf (a lost device, a
    leaked token): every token and web session dies."""
    _check_may_manage(actor, user)
    with transaction.atomic():
        _revoke_everything(user)
        _record(user, AuthEvent.Type.SIGNOUT_ALL, client, by=str(actor.pk))


def send_password_reset_link(
    *, actor: User, user: User, client: Client = NO_CLIENT
) -> bool:
    """Queue a reset link as if the owner had asked for one. Returns False for an
    inactive or deleted account: its link would not work."""
    if not user.is_active or user.deleted_at is not None:
        return False
    with transaction.atomic():
        _record(user, AuthEvent.Type.PASSWORD_RESET_REQUESTED, client, by=str(actor.pk))
        emails.send_password_reset(user)
    return True


def mark_email_verified(*, actor: User, user: User, client: Client = NO_CLIENT) -> bool:
    """Vouch for an account's address (checked some other way). Returns False
    when it was already verified."""
    if user.email_verified:
        return False
    with transaction.atomic():
        user.email_verified = True
        user.save(update_fields=["email_verified"])
        _record(user, AuthEvent.Type.EMAIL_VERIFIED, client, by=str(actor.pk))
    return True
