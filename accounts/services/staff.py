"""What staff do to other accounts (staff API and admin)."""

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from accounts import emails
from accounts.assurance import Assurance
from accounts.client import NO_CLIENT, Client
from accounts.errors import FieldError, ValidationFailed
from accounts.models import AuthEvent, User
from accounts.services.account_checks import (
    PROFILE_FIELDS,
    identifiers_taken,
    insert_account,
    prepare_account,
)
from accounts.services.audit import record, security_log
from accounts.services.authority import (
    require_may_delete,
    require_may_grant_rights,
    require_may_manage,
)
from accounts.services.email_change import replace_email
from accounts.services.profile import update_profile
from accounts.services.reauthentication import require_recent_auth
from accounts.services.revocation import revoke_all_tokens

STAFF_FIELDS = (
    *PROFILE_FIELDS,
    "is_active",
    "is_staff",
    "is_superuser",
    "email_verified",
    "tier",
)

# The account flags that put an account in staff scope; only superusers set them.
STAFF_SCOPE_FLAGS = ("is_staff", "is_superuser")


def create_user(
    *,
    actor: User,
    email: str,
    username: str,
    assurance: Assurance,
    password: str | None = None,
    client: Client = NO_CLIENT,
    **fields,
) -> User:
    """Create an account on a staff member's behalf. Without a password the
    account gets an unusable one and a set-password email (an ordinary reset
    link) is queued."""
    _check_privileges(actor, fields)
    user = User(email=email, username=username, **fields)
    return add_user(
        actor=actor, user=user, password=password, client=client, assurance=assurance
    )


def add_user(
    *,
    actor: User,
    user: User,
    password: str | None,
    assurance: Assurance,
    client: Client = NO_CLIENT,
) -> User:
    """create_user for an account another door has already built (the admin's
    add form): the same checks, the same event, the same set-password email."""
    _check_privileges(
        actor, [name for name in STAFF_SCOPE_FLAGS if getattr(user, name)]
    )
    _require_recent_staff_sign_in(actor, assurance)
    # No password: an unusable one, and the owner sets theirs from the link.
    prepare_account(user, password or None)
    with transaction.atomic():
        insert_account(user)
        record(user, AuthEvent.Type.SIGNUP, client, created_by=str(actor.pk))
        if not password:
            emails.send_set_password(user)
    return user


def update_user(
    *,
    actor: User,
    user: User,
    assurance: Assurance,
    client: Client = NO_CLIENT,
    force_email: bool = False,
    reason: str | None = None,
    **changes,
) -> User:
    """Change an account as staff, within the authority rule. Only superusers
    grant or remove staff and superuser rights (audited); deactivating an
    account revokes all of its tokens. A new email address becomes a pending
    change its mailbox confirms, unless a superuser forces the switch
    (`force_email`, with a `reason`: see replace_email)."""
    require_may_manage(actor, user)
    _check_privileges(actor, changes)
    _require_recent_staff_sign_in(actor, assurance)
    if force_email:
        if "email" not in changes:
            raise FieldError(
                "Give the new address to force.", code="required", field="email"
            )
        replace_email(
            actor=actor,
            user=user,
            email=changes.pop("email"),
            reason=reason or "",
            assurance=assurance,
            client=client,
        )
    elif reason is not None:
        raise FieldError(
            "A reason is given only with force_email.", code="invalid", field="reason"
        )
    flags = {
        name: changes.pop(name)
        for name in STAFF_FIELDS
        if name not in PROFILE_FIELDS and name in changes
    }
    deactivating = flags.get("is_active") is False and user.is_active
    activating = flags.get("is_active") is True and not user.is_active
    granted = [n for n in STAFF_SCOPE_FLAGS if flags.get(n) and not getattr(user, n)]
    revoked = [
        n for n in STAFF_SCOPE_FLAGS if flags.get(n) is False and getattr(user, n)
    ]
    with transaction.atomic():
        if changes:
            update_profile(
                user=user, client=client, assurance=assurance, actor=actor, **changes
            )
        if flags:
            for name, value in flags.items():
                setattr(user, name, value)
            user.save(update_fields=list(flags))
        if deactivating:
            revoke_all_tokens(user)
            record(user, AuthEvent.Type.ACCOUNT_DEACTIVATED, client, by=str(actor.pk))
        elif activating:
            record(user, AuthEvent.Type.ACCOUNT_ACTIVATED, client, by=str(actor.pk))
        if granted or revoked:
            _record_rights(user, actor, client, granted, revoked)
    return user


def delete_user(*, actor: User, user: User, assurance: Assurance) -> None:
    """Hard-delete an account (its sessions and audit trail go with it)."""
    require_may_delete(actor, user)
    _require_recent_staff_sign_in(actor, assurance)
    security_log.info(
        "account_purged",
        extra={"event": "account_purged", "user_id": str(user.pk), "by": str(actor.pk)},
    )
    user.delete()


def _require_recent_staff_sign_in(actor: User, assurance: Assurance) -> None:
    # A staff member's stolen access token or unattended browser must not be
    # able to change other people's accounts: every staff write needs the
    # actor's own recent sign-in.
    require_recent_auth(user=actor, assurance=assurance)


def _check_privileges(actor: User, changes) -> None:
    # Mass assignment of rights: naming a flag at all (even to clear it) is a
    # rights change.
    if any(name in changes for name in STAFF_SCOPE_FLAGS):
        require_may_grant_rights(actor)


def activate_user(
    *, actor: User, user: User, assurance: Assurance, client: Client = NO_CLIENT
) -> bool:
    """Let a deactivated account sign in again (its old tokens stay dead).
    Returns False when there was nothing to do; a deleted account needs
    restore_user instead."""
    require_may_manage(actor, user)
    _require_recent_staff_sign_in(actor, assurance)
    if user.is_active or user.is_deleted:
        return False
    with transaction.atomic():
        user.is_active = True
        user.save(update_fields=["is_active"])
        record(user, AuthEvent.Type.ACCOUNT_ACTIVATED, client, by=str(actor.pk))
    return True


def deactivate_user(
    *, actor: User, user: User, assurance: Assurance, client: Client = NO_CLIENT
) -> None:
    """Stop an account from signing in. Every token and session it holds dies at
    once, so they stay dead if it is activated again."""
    require_may_manage(actor, user)
    _require_recent_staff_sign_in(actor, assurance)
    with transaction.atomic():
        user.is_active = False
        user.save(update_fields=["is_active"])
        revoke_all_tokens(user)
        record(user, AuthEvent.Type.ACCOUNT_DEACTIVATED, client, by=str(actor.pk))


def restore_user(
    *, actor: User, user: User, assurance: Assurance, client: Client = NO_CLIENT
) -> bool:
    """Undo a soft delete: the account exists again and may sign in. Tokens from
    before the deletion stay dead. Returns False for an account not deleted."""
    require_may_manage(actor, user)
    _require_recent_staff_sign_in(actor, assurance)
    if not user.is_deleted:
        return False
    # Someone may have signed up with the address or name since the deletion.
    taken = identifiers_taken(email=user.email, username=user.username, exclude=user)
    if taken:
        raise ValidationFailed.merge(*taken)
    with transaction.atomic():
        user.deleted_at = None
        user.is_active = True
        user.save(update_fields=["deleted_at", "is_active"])
        record(user, AuthEvent.Type.ACCOUNT_RESTORED, client, by=str(actor.pk))
    return True


def revoke_user_tokens(
    *, actor: User, user: User, assurance: Assurance, client: Client = NO_CLIENT
) -> None:
    """Sign an account out everywhere on its owner's behalf (a lost device, a
    leaked token): every token and web session dies."""
    require_may_manage(actor, user)
    _require_recent_staff_sign_in(actor, assurance)
    with transaction.atomic():
        revoke_all_tokens(user)
        record(user, AuthEvent.Type.SIGNOUT_ALL, client, by=str(actor.pk))


def send_password_reset_link(
    *, actor: User, user: User, assurance: Assurance, client: Client = NO_CLIENT
) -> bool:
    """Queue a reset link as if the owner had asked for one. Returns False for an
    inactive or deleted account: its link would not work."""
    require_may_manage(actor, user)
    _require_recent_staff_sign_in(actor, assurance)
    if not user.is_usable:
        return False
    with transaction.atomic():
        record(user, AuthEvent.Type.PASSWORD_RESET_REQUESTED, client, by=str(actor.pk))
        emails.send_password_reset(user)
    return True


def mark_email_verified(
    *, actor: User, user: User, assurance: Assurance, client: Client = NO_CLIENT
) -> bool:
    """Vouch for an account's address (checked some other way). Returns False
    when it was already verified."""
    require_may_manage(actor, user)
    _require_recent_staff_sign_in(actor, assurance)
    if user.email_verified:
        return False
    with transaction.atomic():
        user.email_verified = True
        user.save(update_fields=["email_verified"])
        record(user, AuthEvent.Type.EMAIL_VERIFIED, client, by=str(actor.pk))
    return True


def set_user_rights(
    *,
    actor: User,
    user: User,
    groups,
    permissions,
    assurance: Assurance,
    client: Client = NO_CLIENT,
) -> None:
    """Set an account's groups and its own permissions (superusers only).
    Records what was granted and revoked, and by whom."""
    require_may_grant_rights(actor)
    require_may_manage(actor, user)
    _require_recent_staff_sign_in(actor, assurance)
    before = _group_labels(user.groups.all()) | _permission_labels(
        user.user_permissions.all()
    )
    groups, permissions = list(groups), list(permissions)
    after = _group_labels(groups) | _permission_labels(permissions)
    with transaction.atomic():
        user.groups.set(groups)
        user.user_permissions.set(permissions)
        if before != after:
            _record_rights(
                user, actor, client, sorted(after - before), sorted(before - after)
            )


def save_group(
    *,
    actor: User,
    group: Group,
    permissions,
    assurance: Assurance,
    client: Client = NO_CLIENT,
) -> Group:
    """Create or change a group and its permissions (superusers only: a group's
    permissions are every member's). Records what changed, and by whom."""
    require_may_grant_rights(actor)
    _require_recent_staff_sign_in(actor, assurance)
    permissions = list(permissions)
    before = set()
    detail = {}
    if group.pk is None:
        detail["created"] = True
    else:
        before = _permission_labels(group.permissions.all())
        old_name = Group.objects.filter(pk=group.pk).values_list("name", flat=True)
        if old_name and old_name[0] != group.name:
            detail["renamed_from"] = old_name[0]
    after = _permission_labels(permissions)
    with transaction.atomic():
        group.save()
        group.permissions.set(permissions)
        if before != after or detail:
            _record_group(
                group,
                actor,
                client,
                sorted(after - before),
                sorted(before - after),
                **detail,
            )
    return group


def delete_group(
    *, actor: User, group: Group, assurance: Assurance, client: Client = NO_CLIENT
) -> None:
    """Delete a group; its members lose its permissions (recorded)."""
    require_may_grant_rights(actor)
    _require_recent_staff_sign_in(actor, assurance)
    revoked = sorted(_permission_labels(group.permissions.all()))
    with transaction.atomic():
        _record_group(group, actor, client, [], revoked, deleted=True)
        group.delete()


def _group_labels(groups) -> set[str]:
    return {f"group:{group.name}" for group in groups}


def _permission_labels(permissions) -> set[str]:
    if not permissions:
        return set()
    # One query for the content types, however many permissions are listed.
    rows = Permission.objects.filter(pk__in=[p.pk for p in permissions]).values_list(
        "content_type__app_label", "codename"
    )
    return {f"permission:{app}.{codename}" for app, codename in rows}


def _record_rights(user: User, actor: User, client: Client, granted, revoked) -> None:
    record(
        user,
        AuthEvent.Type.PERMISSIONS_CHANGED,
        client,
        by=str(actor.pk),
        granted=list(granted),
        revoked=list(revoked),
    )


def _record_group(
    group: Group, actor: User, client: Client, granted, revoked, **detail
) -> None:
    # Not tied to one account: a group's rights are those of all its members.
    record(
        None,
        AuthEvent.Type.GROUP_CHANGED,
        client,
        by=str(actor.pk),
        group=group.name,
        granted=list(granted),
        revoked=list(revoked),
        **detail,
    )
