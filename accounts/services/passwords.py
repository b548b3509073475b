"""Changing and resetting passwords."""

from django.db import transaction

from accounts import emails, throttles
from accounts.assurance import Assurance
from accounts.client import NO_CLIENT, Client
from accounts.errors import (
    IncorrectPassword,
)
from accounts.models import AuthEvent, User
from accounts.services.account_checks import validate_password
from accounts.services.audit import record
from accounts.services.current_password import check_current_password
from accounts.services.links import user_for_link
from accounts.services.reauthentication import require_recent_auth
from accounts.services.recovery import queue_recovery, within_recovery_cap
from accounts.services.revocation import revoke_all_tokens
from accounts.services.sessions import session_transport, start_api_session
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
    assurance: Assurance,
    session_id: str | None = None,
) -> TokenPair | None:
    """Change the password. Every earlier token and session stops working;
    queues the password-changed notice. Returns fresh tokens when asked for:
    a new session that keeps the caller's `assurance` (a password change proves
    nothing new about a second factor). Wrong current passwords count against
    `session_id` (see check_current_password). Needs a recent sign-in, so a
    stolen session cannot use it to guess the password or lock the owner out."""
    require_recent_auth(user=user, assurance=assurance)
    check_current_password(
        user,
        old_password,
        session_id=session_id,
        client=client,
        error=IncorrectPassword(),
    )
    validate_password(new_password, user, field="new_password")
    with transaction.atomic():
        _set_password(user, new_password)
        record(user, AuthEvent.Type.PASSWORD_CHANGED, client)
        emails.send_password_changed(user)
        if not issue_tokens:
            return None
        # The new session travels like the one that asked (a cookie SPA
        # keeps its refresh token out of the body).
        return start_api_session(
            user=user,
            assurance=assurance,
            client=client,
            transport=session_transport(session_id),
        )


def request_password_reset(*, email: str, client: Client = NO_CLIENT) -> None:
    """Ask for a reset link to this address. The answer and the work are the same
    whether or not an account has it; the worker sends the link
    (send_reset_link_to_address)."""
    queue_recovery("password_reset", email, client)


def send_reset_link_to_address(*, email: str, client: Client = NO_CLIENT) -> bool:
    """Email a reset link to the live, active account with this address, within
    its hourly cap; records the request. Returns whether a link was queued.
    Runs in the worker, behind request_password_reset."""
    user = User.objects.usable().with_email(email).first()
    if user is None or not within_recovery_cap("password_reset", user):
        return False
    with transaction.atomic():
        record(user, AuthEvent.Type.PASSWORD_RESET_REQUESTED, client)
        emails.send_password_reset(user)
    return True


def reset_password(
    *, uid: str, token: str, new_password: str, client: Client = NO_CLIENT
) -> User:
    """Set a new password from an emailed link. The link works once; every earlier
    token stops working; queues the password-changed notice. Receiving the link
    proves the mailbox, so the address counts as verified."""
    # Per address: tokens cannot be guessed, but each try costs a lookup (and a
    # right one a password hash), so a flood of them is refused early.
    throttles.hit("link", client.ip)
    # Validated before the row lock is taken: the strength estimate and the
    # optional breached-password query (up to its timeout) must not hold it.
    validate_password(
        new_password,
        user_for_link(uid, token, password_reset_token),
        field="new_password",
    )
    with transaction.atomic():
        # The row lock makes two simultaneous uses of one link take turns, so
        # the second sees the new password hash and is refused.
        user = user_for_link(uid, token, password_reset_token, lock=True)
        user.email_verified = True
        _set_password(user, new_password, also=["email_verified"])
        # The mailbox proof that lifts the "100 wrong second-factor answers
        # in a row" refusal (services.mfa_signin).
        User.objects.filter(pk=user.pk).update(second_factor_failures=0)
        record(user, AuthEvent.Type.PASSWORD_RESET_COMPLETED, client)
        emails.send_password_changed(user)
    return user


def check_reset_link(*, uid: str, token: str, client: Client | None = None) -> User:
    """The account a reset link is for, without using it (for the reset page).
    Pass the client when the token comes from the request (the emailed link as
    opened), so that guesses count against the per-address limit."""
    if client is not None:
        throttles.hit("link", client.ip)
    return user_for_link(uid, token, password_reset_token)


def _set_password(user: User, password: str, also: list[str] = ()) -> None:
    user.set_password(password)
    user.save(update_fields=["password", *also])
    # Whoever knew the old password may hold tokens or sessions: all die.
    revoke_all_tokens(user)
