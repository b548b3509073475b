"""Who may manage whom: the one staff authority rule.

Every staff write (the staff API, the admin's forms, actions and deletes) asks
here, so no door can carry a weaker copy of the rule. Staff scope is
`is_staff or is_superuser`. A staff member who is not a superuser acts only on
accounts outside that scope (their own included: they use /users/me and the
account pages); superusers act on anyone, but nobody hard-deletes themself.
Granting rights (staff and superuser flags, groups, permissions) is for
superusers alone.
"""

from accounts.errors import PermissionDenied
from accounts.models import User


def in_staff_scope(user: User) -> bool:
    return bool(user.is_staff or user.is_superuser)


def may_manage(actor: User, user: User) -> bool:
    """Whether `actor` may change, deactivate, restore, sign out, vouch for or
    send a reset link to `user`."""
    if actor.is_superuser:
        return True
    # Privilege escalation: a staff member who could edit a superuser's address
    # could take the account over through forgot-password.
    return bool(actor.is_staff) and not in_staff_scope(user)


def require_may_manage(actor: User, user: User) -> None:
    if not may_manage(actor, user):
        raise PermissionDenied(
            "Only a superuser may act on a staff or superuser account."
        )


def may_delete(actor: User, user: User) -> bool:
    # A superuser deleting themself could leave the service without one.
    return actor.pk != user.pk and may_manage(actor, user)


def require_may_delete(actor: User, user: User) -> None:
    if actor.pk == user.pk:
        raise PermissionDenied("You cannot delete your own account here.")
    require_may_manage(actor, user)


def may_grant_rights(actor: User) -> bool:
    """Whether `actor` may set staff or superuser flags, groups or permissions."""
    return bool(actor.is_superuser)


def require_may_grant_rights(actor: User) -> None:
    if not may_grant_rights(actor):
        raise PermissionDenied("Only a superuser can grant or remove staff rights.")


def may_replace_email(actor: User) -> bool:
    """Whether `actor` may switch an account's address at once (skipping the
    new mailbox's confirmation): superusers only, with a reason."""
    return bool(actor.is_superuser)
