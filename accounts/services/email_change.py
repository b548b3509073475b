"""Changing an account's email address: the new mailbox confirms it.

A stolen session must not be able to move an account to an attacker's address
and take it over through forgot-password. So a change only becomes pending:
the new address confirms it by link, the old one is told and may cancel it,
and confirming ends every other session. The pending address is reserved by
nobody and matches no lookup until it is confirmed.
"""

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import emails, throttles
from accounts.assurance import Assurance
from accounts.client import NO_CLIENT, Client
from accounts.errors import (
    EmailTaken,
    FieldError,
    InvalidToken,
    PermissionDenied,
    ValidationFailed,
)
from accounts.models import AuthEvent, User
from accounts.services.account_checks import identifiers_taken, invalid_fields
from accounts.services.audit import record
from accounts.services.authority import may_replace_email, require_may_manage
from accounts.services.reauthentication import require_recent_auth
from accounts.services.revocation import revoke_all_tokens
from accounts.tokens import (
    EmailChangeTokenGenerator,
    email_change_cancel_token,
    email_change_confirm_token,
)

PENDING_FIELDS = ("pending_email", "pending_email_requested_at", "pending_email_aal")


def checked_new_email(user: User, email: str) -> str | None:
    """The normalised address `email` if it differs from the account's own (in
    any spelling), else None; a malformed one is a field error."""
    own = user.email
    user.email = email
    try:
        user.clean()
        errors = invalid_fields(user, ["email"])
        normalised = user.email
    finally:
        user.email = own
    if errors:
        raise ValidationFailed.merge(*errors)
    return None if user.keeps_email(normalised) else normalised


def request_email_change(
    *,
    user: User,
    email: str,
    assurance: Assurance,
    client: Client = NO_CLIENT,
    actor: User | None = None,
) -> User:
    """Make `email` the account's pending address (replacing any earlier
    change); queues the confirmation (or "already has an account") message to
    it and a notice to the current address. Needs the owner's recent sign-in,
    or, when staff ask (`actor`), the staff rule and the actor's."""
    new_email = checked_new_email(user, email)
    if actor is None:
        require_recent_auth(user=user, assurance=assurance)
    else:
        require_may_manage(actor, user)
        require_recent_auth(user=actor, assurance=assurance)
    if new_email is None:
        return user
    with transaction.atomic():
        user.pending_email = new_email
        user.pending_email_requested_at = timezone.now()
        # A change asked for with a second factor cannot be cancelled by mail
        # (whoever reads the old mailbox may not be the owner); one staff asked
        # for always can, so the owner may refuse it.
        user.pending_email_aal = assurance.aal if actor is None else 1
        user.save(update_fields=PENDING_FIELDS)
        by = {"by": str(actor.pk)} if actor is not None else {}
        record(user, AuthEvent.Type.EMAIL_CHANGE_REQUESTED, client, **by)
        emails.send_email_change_confirmation(user)
        emails.send_email_change_requested(user)
    return user


def check_email_change_link(*, token: str, purpose: str) -> User:
    """The account a confirm or cancel link is for, without using it (for the
    page that shows the button)."""
    return _user_for_token(token, _generator(purpose))


def confirm_email_change(*, token: str, client: Client = NO_CLIENT) -> User:
    """Switch to the pending address from its confirmation link: it becomes
    verified, every token and session of the account dies (the browser that
    confirmed may keep its own, the door's business), and the old address is
    told. 400 `email` if another account took the address meanwhile."""
    throttles.hit("link", client.ip)
    with transaction.atomic():
        user = _user_for_token(token, email_change_confirm_token, lock=True)
        taken = identifiers_taken(email=user.pending_email, exclude=user)
        if taken:
            raise ValidationFailed.merge(*taken)
        old_email = user.email
        _switch_address(user, user.pending_email, verified=True)
        # Whoever held a session may be the one the owner is moving away from.
        revoke_all_tokens(user)
        record(user, AuthEvent.Type.EMAIL_CHANGED, client)
        emails.send_email_changed(user, old_email=old_email)
    return user


def cancel_email_change(*, token: str, client: Client = NO_CLIENT) -> User:
    """Withdraw a pending change from the link sent to the current address.
    Never reverts a switch: once confirmed, the link is invalid. A change asked
    for with a second factor cannot be cancelled this way."""
    throttles.hit("link", client.ip)
    with transaction.atomic():
        user = _user_for_token(token, email_change_cancel_token, lock=True)
        if user.pending_email_aal >= 2:
            raise InvalidToken()
        _withdraw(user, client, by_mail=True)
    return user


def withdraw_email_change(*, user: User, client: Client = NO_CLIENT) -> None:
    """The signed-in owner withdraws a pending change (any; no recent sign-in:
    it is an emergency brake)."""
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if user.pending_email:
            _withdraw(user, client, by_mail=False)


def replace_email(
    *,
    actor: User,
    user: User,
    email: str,
    reason: str,
    assurance: Assurance,
    client: Client = NO_CLIENT,
) -> User:
    """Switch an account's address at once (superusers only, with a written
    reason, for an owner who lost the old mailbox). Every session dies and every
    outstanding link and code is voided; the new address stays unverified and
    gets a verification link; the old one is told."""
    if not may_replace_email(actor):
        raise PermissionDenied("Only a superuser may replace an address at once.")
    reason = (reason or "").strip()
    if not reason:
        raise FieldError(
            "Give the reason for replacing the address.",
            code="required",
            field="reason",
        )
    require_recent_auth(user=actor, assurance=assurance)
    new_email = checked_new_email(user, email)
    if new_email is None:
        return user
    taken = identifiers_taken(email=new_email, exclude=user)
    if taken:
        raise ValidationFailed.merge(*taken)
    with transaction.atomic():
        old_email = user.email
        _switch_address(user, new_email, verified=False)
        # token_generation moves on: sessions, reset and change links, codes
        # and pending steps of the old address all die.
        revoke_all_tokens(user)
        record(
            user, AuthEvent.Type.EMAIL_REPLACED, client, by=str(actor.pk), reason=reason
        )
        emails.send_email_changed(user, old_email=old_email)
        emails.send_verification(user)
    return user


def _withdraw(user: User, client: Client, *, by_mail: bool) -> None:
    pending = user.pending_email
    _clear(user)
    user.save(update_fields=PENDING_FIELDS)
    record(user, AuthEvent.Type.EMAIL_CHANGE_CANCELLED, client, by_mail=by_mail)
    emails.send_email_change_cancelled(user, pending_email=pending)


def _clear(user: User) -> None:
    user.pending_email = ""
    user.pending_email_requested_at = None
    user.pending_email_aal = 1


def _generator(purpose: str) -> EmailChangeTokenGenerator:
    if purpose == "confirm":
        return email_change_confirm_token
    if purpose == "cancel":
        return email_change_cancel_token
    raise ValueError(purpose)


def _user_for_token(
    token: str, generator: EmailChangeTokenGenerator, *, lock: bool = False
) -> User:
    """The usable account whose live pending change `token` stands for;
    InvalidToken for anything else (expired, replaced, voided, malformed)."""
    pk = EmailChangeTokenGenerator.user_id(token)
    if pk is None:
        raise InvalidToken()
    users = User.objects.select_for_update() if lock else User.objects
    user = users.usable().filter(pk=pk).first()
    if (
        user is None
        or user.live_pending_email is None
        or not generator.check_token(user, token)
    ):
        raise InvalidToken()
    return user


def _switch_address(user: User, new_email: str, *, verified: bool) -> None:
    """Give the account its new address, ending any pending change. Runs in the
    caller's transaction; the save has a savepoint of its own so that two
    accounts taking the same address at once get a clean "taken" (the unique
    constraint lets one win) and the caller's transaction survives."""
    user.email = new_email
    user.email_verified = verified
    _clear(user)
    try:
        with transaction.atomic():
            user.save(update_fields=["email", "email_verified", *PENDING_FIELDS])
    except IntegrityError:
        raise ValidationFailed.merge(EmailTaken()) from None
