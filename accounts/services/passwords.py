"""Changing and resetting passwords."""

from django.conf import settings
from django.db import transaction

from accounts import emails, throttles
from accounts.errors import (
    IncorrectPassword,
)
from accounts.models import AuthEvent, User
from accounts.services._base import (
    NO_CLIENT,
    Client,
    _record,
    _set_password,
    _user_for_link,
    _validate_password,
)
from accounts.services.sessions import _start_session
from accounts.tokens import (
    TokenPair,
    password_reset_token,
)


def change_password(
    *,
    user: User,
    old_password: str,
    new_password: str,
    client: Client = NO_CLIENT,
    issue_tokens: bool = False,
) -> TokenPair | None:
    """Change the password. Every earlier token and session stops working;
    queues the password-changed notice. Returns fresh tokens when asked for."""
    if not old_password or not user.check_password(
        old_password[: settings.PASSWORD_MAX_LENGTH + 1]
    ):
        raise IncorrectPassword()
    _validate_password(new_password, user, field="new_password")
    with transaction.atomic():
        _set_password(user, new_password)
        _record(user, AuthEvent.Type.PASSWORD_CHANGED, client)
        emails.send_password_changed(user)
        return _start_session(user, client) if issue_tokens else None


def request_password_reset(*, email: str, client: Client = NO_CLIENT) -> None:
    """Queue a reset link for an active account; silently nothing otherwise, so the
    answer never reveals whether an address is registered."""
    throttles.hit("password", client.ip, email)
    user = (
        User.objects.with_email(email)
        .filter(is_active=True, deleted_at__isnull=True)
        .first()
    )
    if user is None:
        return
    with transaction.atomic():
        _record(user, AuthEvent.Type.PASSWORD_RESET_REQUESTED, client)
        emails.send_password_reset(user)


def reset_password(
    *, uid: str, token: str, new_password: str, client: Client = NO_CLIENT
) -> User:
    """Set a new password from an emailed link. The link works once; every earlier
    token stops working; queues the password-changed notice. Receiving the link
    proves the mailbox, so the address counts as verified."""
    # Validated before the row lock is taken: the strength estimate and the
    # optional breached-password query (up to its timeout) must not hold it.
    _validate_password(
        new_password,
        _user_for_link(uid, token, password_reset_token),
        field="new_password",
    )
    with transaction.atomic():
        # The row lock makes two simultaneous uses of one link take turns, so
        # the second sees the new password hash and is refused.
        user = _user_for_link(uid, token, password_reset_token, lock=True)
        user.email_verified = True
        _set_password(user, new_password, also=["email_verified"])
        _record(user, AuthEvent.Type.PASSWORD_RESET_COMPLETED, client)
        emails.send_password_changed(user)
    return user


def check_reset_link(*, uid: str, token: str) -> User:
    """The account a reset link is for, without using it (for the reset page)."""
    return _user_for_link(uid, token, password_reset_token)
