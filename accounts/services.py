"""The account use cases: every write to an account goes through here.

Both doors (the JSON API and the HTML pages) call these functions and map the
errors of accounts.errors to their own output. A service never sees a request:
callers pass the client's IP and user agent as plain values.
"""

import hashlib
import logging
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import authenticate, password_validation
from django.contrib.auth.hashers import get_hasher
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.db.models.lookups import In
from django.utils import timezone
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode
from rest_framework_simplejwt.exceptions import TokenError

from accounts import emails, throttles
from accounts.errors import (
    EmailNotVerified,
    EmailTaken,
    FieldError,
    InactiveAccount,
    IncorrectPassword,
    InvalidCredentials,
    InvalidRefreshToken,
    InvalidToken,
    NotYourToken,
    PermissionDenied,
    RefreshTokenReused,
    SessionNotFound,
    Throttled,
    UsernameTaken,
    ValidationFailed,
    WeakPassword,
)
from accounts.models import AuthEvent, TokenSession, User
from accounts.tokens import (
    GENERATION_CLAIM,
    SESSION_CLAIM,
    RefreshToken,
    TokenPair,
    email_verification_token,
    mint_pair,
    password_reset_token,
)

security_log = logging.getLogger("accounts.security")

PROFILE_FIELDS = ("username", "email", "first_name", "last_name")


@dataclass(frozen=True)
class Client:
    """Where a request came from, for the audit trail and the sessions list."""

    ip: str | None = None
    user_agent: str = ""


NO_CLIENT = Client()


@dataclass(frozen=True)
class SignedIn:
    user: User
    tokens: TokenPair | None


# ---------------------------------------------------------------------------
# Sign-up and sign-in
# ---------------------------------------------------------------------------
def sign_up(
    *,
    email: str,
    username: str,
    password: str,
    first_name: str = "",
    last_name: str = "",
    client: Client = NO_CLIENT,
    issue_tokens: bool = False,
) -> SignedIn:
    """Create an account. Queues the welcome email (with the verification link
    unless EMAIL_VERIFICATION is none). Tokens are withheld, even when asked for,
    while verification is mandatory."""
    throttles.hit("signup", client.ip)
    user = User(
        email=email, username=username, first_name=first_name, last_name=last_name
    )
    user.clean()
    errors = _invalid_fields(user, PROFILE_FIELDS)
    if not errors:
        errors = [
            e for e in (_email_taken(user.email), _username_taken(user.username)) if e
        ]
    try:
        _validate_password(password, user, field="password")
    except WeakPassword as weak:
        errors.append(weak)
    if errors:
        raise ValidationFailed.merge(*errors)
    user.set_password(password)

    with transaction.atomic():
        try:
            # A savepoint: the unique constraints settle races the pre-check lost.
            with transaction.atomic():
                user.save()
        except IntegrityError:
            taken = [
                e
                for e in (_email_taken(user.email), _username_taken(user.username))
                if e
            ]
            raise ValidationFailed.merge(*(taken or [EmailTaken()])) from None
        _record(user, AuthEvent.Type.SIGNUP, client)
        emails.send_welcome(user)
        tokens = None
        if issue_tokens and may_sign_in_unverified(user):
            tokens = _start_session(user, client)
    return SignedIn(user=user, tokens=tokens)


def may_sign_in_unverified(user: User) -> bool:
    return user.email_verified or settings.EMAIL_VERIFICATION != "mandatory"


def sign_in(
    *,
    identifier: str,
    password: str,
    client: Client = NO_CLIENT,
    issue_tokens: bool = False,
) -> SignedIn:
    """Check credentials (email or username). Updates last_login and records the
    attempt; the doors send user_logged_in, which carries the request. One answer
    for an unknown account and a wrong password, so the response never tells
    which accounts exist."""
    throttles.hit("signin", client.ip, identifier)
    try:
        throttles.check_lockout(identifier, client.ip)
    except Throttled:
        security_log.warning(
            "signin_locked",
            extra={
                "event": "signin_locked",
                "client_ip": client.ip,
                "identifier_hash": _identifier_hash(identifier),
            },
        )
        raise
    user = None
    if password and len(password) <= settings.PASSWORD_MAX_LENGTH:
        user = authenticate(None, username=identifier, password=password)
    if user is None:
        throttles.record_failure(identifier, client.ip)
        _record(
            None,
            AuthEvent.Type.SIGNIN_FAILED,
            client,
            identifier_hash=_identifier_hash(identifier),
        )
        raise InvalidCredentials()
    if not user.is_active:
        raise InactiveAccount()
    if not may_sign_in_unverified(user):
        raise EmailNotVerified()
    throttles.clear_failures(identifier, client.ip)
    with transaction.atomic():
        user.last_login = timezone.now()
        # (An outdated password hash was already upgraded by check_password.)
        user.save(update_fields=["last_login"])
        _record(user, AuthEvent.Type.SIGNIN_SUCCEEDED, client)
        tokens = _start_session(user, client) if issue_tokens else None
    return SignedIn(user=user, tokens=tokens)


# ---------------------------------------------------------------------------
# Tokens and sessions
# ---------------------------------------------------------------------------
def issue_tokens(*, user: User, client: Client = NO_CLIENT) -> TokenPair:
    """Start a new API session for an already authenticated user."""
    with transaction.atomic():
        return _start_session(user, client)


def _start_session(user: User, client: Client) -> TokenPair:
    session_id = str(uuid.uuid4())
    pair, jti = mint_pair(user, session_id=session_id)
    now = timezone.now()
    TokenSession.objects.create(
        id=session_id,
        user=user,
        refresh_jti=jti,
        created_at=now,
        last_used_at=now,
        expires_at=now + timedelta(days=settings.REFRESH_TOKEN_EXPIRE_DAYS),
        ip=client.ip,
        user_agent=client.user_agent[:400],
    )
    return pair


def refresh(*, refresh_token: str, client: Client = NO_CLIENT) -> TokenPair:
    """Rotate a refresh token: the presented one stops working.

    Presenting a token that was already rotated means two parties hold it (theft):
    every session of the user is revoked, access tokens included.
    """
    throttles.hit("refresh", client.ip)
    payload = _decode_refresh(refresh_token)
    reused_by = None
    with transaction.atomic():
        session = (
            TokenSession.objects.select_for_update()
            .select_related("user")
            .filter(pk=payload.get(SESSION_CLAIM))
            .first()
        )
        if (
            session is None
            or session.revoked_at
            or session.expires_at <= timezone.now()
        ):
            raise InvalidRefreshToken()
        user = session.user
        if not _is_current(user, payload):
            raise InvalidRefreshToken()
        if payload["jti"] != session.refresh_jti:
            _revoke_everything(user)
            _record(user, AuthEvent.Type.TOKEN_REUSE, client, session=str(session.pk))
            reused_by = user
        else:
            pair, jti = mint_pair(user, session_id=str(session.pk))
            now = timezone.now()
            session.refresh_jti = jti
            session.last_used_at = now
            session.expires_at = now + timedelta(
                days=settings.REFRESH_TOKEN_EXPIRE_DAYS
            )
            session.save(update_fields=["refresh_jti", "last_used_at", "expires_at"])
    if reused_by is not None:
        # Raised after the commit, so the revocation is not rolled back with it.
        raise RefreshTokenReused()
    return pair


def sign_out(*, user: User, refresh_token: str, client: Client = NO_CLIENT) -> None:
    """End the session a refresh token belongs to. Signing out somebody else's
    token is refused and revokes nothing."""
    payload = _decode_refresh(refresh_token)
    if payload.get("sub") != str(user.pk):
        raise NotYourToken()
    with transaction.atomic():
        revoked = TokenSession.objects.filter(
            pk=payload.get(SESSION_CLAIM), user=user, revoked_at__isnull=True
        ).update(revoked_at=timezone.now())
        if revoked:
            _record(user, AuthEvent.Type.SIGNOUT, client)


def sign_out_all(*, user: User, client: Client = NO_CLIENT) -> None:
    """Revoke every token and session of the user, web sessions included."""
    with transaction.atomic():
        _revoke_everything(user)
        _record(user, AuthEvent.Type.SIGNOUT_ALL, client)


def active_sessions(*, user: User):
    return TokenSession.objects.filter(
        user=user, revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).order_by("-last_used_at")


def revoke_session(*, user: User, session_id, client: Client = NO_CLIENT) -> None:
    """Revoke one API session of the user's; another user's is "not found"."""
    with transaction.atomic():
        try:
            session_id = uuid.UUID(str(session_id))
        except ValueError:
            raise SessionNotFound() from None
        revoked = (
            active_sessions(user=user)
            .filter(pk=session_id)
            .update(revoked_at=timezone.now())
        )
        if not revoked:
            raise SessionNotFound()
        _record(user, AuthEvent.Type.SESSION_REVOKED, client, session=str(session_id))


def _decode_refresh(raw: str) -> dict:
    try:
        return RefreshToken(raw).payload
    except (TokenError, TypeError, ValueError):
        raise InvalidRefreshToken() from None


def _is_current(user: User, payload: dict) -> bool:
    return (
        user.is_active
        and user.deleted_at is None
        and payload.get(GENERATION_CLAIM) == user.token_generation
    )


def _revoke_everything(user: User) -> None:
    """Kill every earlier token (access and refresh) and every web session.

    Must run inside the caller's transaction. The counter is bumped in the
    database (F expression), so concurrent revocations never undo each other.
    """
    User.objects.filter(pk=user.pk).update(token_generation=F("token_generation") + 1)
    user.refresh_from_db(fields=["token_generation"])
    TokenSession.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


# ---------------------------------------------------------------------------
# Passwords
# ---------------------------------------------------------------------------
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
    with transaction.atomic():
        # The row lock makes two simultaneous uses of one link take turns, so
        # the second sees the new password hash and is refused.
        user = _user_for_link(uid, token, password_reset_token, lock=True)
        _validate_password(new_password, user, field="new_password")
        user.email_verified = True
        _set_password(user, new_password, also=["email_verified"])
        _record(user, AuthEvent.Type.PASSWORD_RESET_COMPLETED, client)
        emails.send_password_changed(user)
    return user


def check_reset_link(*, uid: str, token: str) -> User:
    """The account a reset link is for, without using it (for the reset page)."""
    return _user_for_link(uid, token, password_reset_token)


def _set_password(user: User, password: str, also: list[str] = ()) -> None:
    user.set_password(password)
    user.save(update_fields=["password", *also])
    _revoke_everything(user)


def _validate_password(password: str, user: User, *, field: str) -> None:
    if not isinstance(password, str) or not password:
        raise WeakPassword(field, [("This field may not be blank.", "blank")])
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise WeakPassword(
            field,
            [
                (force_str(e.message % (e.params or {})), e.code or "invalid")
                for e in exc.error_list
            ],
        ) from None


# ---------------------------------------------------------------------------
# Email verification
# ---------------------------------------------------------------------------
def verify_email(*, uid: str, token: str, client: Client = NO_CLIENT) -> User:
    """Mark the address verified. The link works once and only for the address it
    was sent to."""
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


def _user_for_link(uid: str, token: str, generator, lock: bool = False) -> User:
    try:
        pk = uuid.UUID(force_str(urlsafe_base64_decode(uid)))
    except (TypeError, ValueError, OverflowError, UnicodeDecodeError):
        raise InvalidToken() from None
    users = User.objects.select_for_update() if lock else User.objects
    user = users.filter(pk=pk, is_active=True, deleted_at__isnull=True).first()
    if (
        user is None
        or not isinstance(token, str)
        or not generator.check_token(user, token)
    ):
        raise InvalidToken()
    return user


# ---------------------------------------------------------------------------
# Profile and account
# ---------------------------------------------------------------------------
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
    errors = _invalid_fields(user, list(changes))
    if errors:
        user.refresh_from_db()
        raise ValidationFailed.merge(*errors)
    if "email" in changes:
        errors.append(_email_taken(user.email, exclude=user))
    if "username" in changes:
        errors.append(_username_taken(user.username, exclude=user))
    errors = [e for e in errors if e]
    if errors:
        user.refresh_from_db()
        raise ValidationFailed.merge(*errors)
    if email_changed:
        user.email_verified = False
    try:
        with transaction.atomic():
            user.save(update_fields=[*changes, "email_verified"])
            if email_changed:
                _record(user, AuthEvent.Type.EMAIL_CHANGED, client)
                emails.send_verification(user)
                emails.send_email_changed(user, old_email=old_email)
            elif changes:
                _record(
                    user, AuthEvent.Type.PROFILE_UPDATED, client, fields=sorted(changes)
                )
    except IntegrityError:
        user.refresh_from_db()
        raise ValidationFailed.merge(
            *[
                e
                for e in (
                    _email_taken(changes.get("email", ""), exclude=user),
                    _username_taken(changes.get("username", ""), exclude=user),
                )
                if e
            ]
            or [EmailTaken()]
        ) from None
    return user


def delete_account(*, user: User, password: str, client: Client = NO_CLIENT) -> None:
    """Soft-delete the account after the password confirms it: it is deactivated,
    every token and session dies, and to the outside it no longer exists."""
    if not password or not user.check_password(
        password[: settings.PASSWORD_MAX_LENGTH + 1]
    ):
        raise IncorrectPassword(field="password", message="Incorrect password")
    with transaction.atomic():
        user.deleted_at = timezone.now()
        user.is_active = False
        user.save(update_fields=["deleted_at", "is_active"])
        _revoke_everything(user)
        _record(user, AuthEvent.Type.ACCOUNT_DELETED, client)


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------
def _invalid_fields(user: User, fields) -> list[FieldError]:
    """Model-level shape checks (lengths, email syntax, username characters), so
    any caller, not only the forms and serializers, gets a clean error."""
    errors = []
    for name in fields:
        value = getattr(user, name)
        if not isinstance(value, str):
            errors.append(FieldError("Not a valid string.", code="invalid", field=name))
        elif any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
            errors.append(
                FieldError(
                    "Control characters are not allowed.", code="invalid", field=name
                )
            )
    if errors:
        return errors
    try:
        user.clean_fields(
            exclude=[f.name for f in User._meta.fields if f.name not in fields]
        )
    except ValidationError as exc:
        for name, items in exc.error_dict.items():
            for item in items:
                message = force_str(item.message % (item.params or {}))
                errors.append(
                    FieldError(message, code=item.code or "invalid", field=name)
                )
    return errors


def _email_taken(email: str, exclude: User | None = None) -> FieldError | None:
    if not email:
        return None
    matches = User.objects.with_email(email).filter(deleted_at__isnull=True)
    if exclude is not None:
        matches = matches.exclude(pk=exclude.pk)
    return EmailTaken() if matches.exists() else None


def _username_taken(username: str, exclude: User | None = None) -> FieldError | None:
    if not username:
        return None
    matches = User.objects.with_username(username).filter(deleted_at__isnull=True)
    if exclude is not None:
        matches = matches.exclude(pk=exclude.pk)
    return UsernameTaken() if matches.exists() else None


def _identifier_hash(identifier: str) -> str:
    # Failed sign-ins are logged without the identifier itself (it may be a
    # password typed into the wrong field); a keyed hash still correlates them.
    digest = hashlib.blake2b(
        (identifier or "").strip().lower().encode(),
        key=settings.SECRET_KEY.encode()[:64],
        digest_size=8,
    )
    return digest.hexdigest()


def _record(user: User | None, event: str, client: Client, **detail) -> None:
    AuthEvent.objects.create(
        user=user,
        type=event,
        ip=client.ip,
        user_agent=client.user_agent[:400],
        detail=detail,
    )
    security_log.info(
        "%s",
        event,
        extra={
            "event": str(event),
            "user_id": str(user.pk) if user else None,
            "client_ip": client.ip,
            **detail,
        },
    )


# ---------------------------------------------------------------------------
# Staff
# ---------------------------------------------------------------------------
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
    user.clean()
    errors = _invalid_fields(user, PROFILE_FIELDS)
    if not errors:
        errors = [
            e for e in (_email_taken(user.email), _username_taken(user.username)) if e
        ]
    if password:
        try:
            _validate_password(password, user, field="password")
        except WeakPassword as weak:
            errors.append(weak)
    if errors:
        raise ValidationFailed.merge(*errors)
    user.set_password(password or None)
    with transaction.atomic():
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError:
            taken = [
                e
                for e in (_email_taken(user.email), _username_taken(user.username))
                if e
            ]
            raise ValidationFailed.merge(*(taken or [EmailTaken()])) from None
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


# ---------------------------------------------------------------------------
# Housekeeping (management commands; run from cron)
# ---------------------------------------------------------------------------
HOUSEKEEPING_BATCH = 1000


def purge_deleted_users(*, deleted_before: datetime, execute: bool = False) -> int:
    """Hard-delete accounts soft-deleted before the cutoff, with their sessions
    and audit trail. Without `execute` only counts them (a dry run)."""
    users = User.objects.filter(deleted_at__lt=deleted_before)
    if not execute:
        return users.count()
    purged = _delete_in_batches(users)
    security_log.info(
        "accounts_purged",
        extra={
            "event": "accounts_purged",
            "count": purged,
            "deleted_before": deleted_before.isoformat(),
        },
    )
    return purged


def flush_token_sessions(*, ended_before: datetime) -> int:
    """Delete API sessions that expired or were revoked before the cutoff.
    They can never be used again; reuse detection only needs recent ones."""
    sessions = TokenSession.objects.filter(
        Q(expires_at__lt=ended_before) | Q(revoked_at__lt=ended_before)
    )
    return _delete_in_batches(sessions)


def prune_auth_events(*, created_before: datetime, execute: bool = False) -> int:
    """Delete audit events older than the cutoff (data minimisation: they hold
    IP addresses). Without `execute` only counts them (a dry run)."""
    events = AuthEvent.objects.filter(created_at__lt=created_before)
    if not execute:
        return events.count()
    return _delete_in_batches(events)


def _delete_in_batches(queryset) -> int:
    # Short transactions: one huge DELETE would hold its locks (and, for users,
    # build its whole cascade in memory) for as long as it runs.
    model = queryset.model
    deleted = 0
    while True:
        with transaction.atomic():
            pks = list(
                queryset.order_by().values_list("pk", flat=True)[:HOUSEKEEPING_BATCH]
            )
            if not pks:
                return deleted
            # Filtered again: a row that stopped matching meanwhile (an account
            # restored a moment ago) is left alone.
            _, per_model = queryset.filter(pk__in=pks).delete()
            deleted += per_model.get(model._meta.label, 0)


# ---------------------------------------------------------------------------
# Import from another system (manage.py import_users)
# ---------------------------------------------------------------------------
IMPORT_BATCH = 1000
IMPORT_FIELDS = (
    *PROFILE_FIELDS,
    "hashed_password",
    "is_active",
    "is_superuser",
    "email_verified",
)
IMPORT_FLAGS = ("is_active", "is_superuser", "email_verified")
# Hashes this service can verify and then upgrade to Argon2 at the next sign-in.
IMPORTABLE_HASHERS = (
    "argon2",
    "pbkdf2_sha256",
    "pbkdf2_sha1",
    "bcrypt_sha256",
    "bcrypt",
)
RAW_BCRYPT = re.compile(r"\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}")
TRUE_WORDS = {"1", "true", "t", "yes", "y"}
FALSE_WORDS = {"0", "false", "f", "no", "n"}


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    failed: int = 0


@dataclass
class _ImportRow:
    line: int
    user: User  # unsaved; username and email already normalised
    given: dict  # the columns the row sets, with cleaned values


def import_users(
    *,
    rows: Iterable[tuple[int, dict]],
    on_error: Callable[[int, str], None] = lambda line, reason: None,
) -> ImportResult:
    """Create or update (matched by email) accounts exported from another system.

    Each row keeps its password hash, so people sign in with their old password
    (re-hashed with Argon2 on that first sign-in). Re-running a file updates
    instead of duplicating. A bad row is reported through `on_error(line,
    reason)` (never with the hash) and skipped; batches of IMPORT_BATCH commit
    on their own. Sends no email. A changed hash or a deactivation revokes the
    account's tokens, as a password change or deactivation would.
    """
    result = ImportResult()

    def fail(line: int, reason: str) -> None:
        result.failed += 1
        on_error(line, reason)

    batch: list[_ImportRow] = []
    for line, raw in rows:
        try:
            batch.append(_import_row(line, raw))
        except ValueError as exc:
            fail(line, str(exc))
            continue
        if len(batch) >= IMPORT_BATCH:
            _import_batch(batch, result, fail)
            batch = []
    if batch:
        _import_batch(batch, result, fail)
    security_log.info(
        "users_imported",
        extra={
            "event": "users_imported",
            # Not "created": that name is taken by LogRecord itself.
            "accounts_created": result.created,
            "accounts_updated": result.updated,
            "rows_failed": result.failed,
        },
    )
    return result


def _import_row(line: int, raw: dict) -> _ImportRow:
    """Check one row's shape; raises ValueError naming the field, never the value
    of a hash (it would end up in logs and terminals)."""
    if not isinstance(raw, dict):
        raise ValueError("expected an object with named fields")
    unknown = sorted(set(raw) - set(IMPORT_FIELDS))
    if unknown:
        raise ValueError(f"unknown field(s): {', '.join(map(str, unknown))}")
    given = {}
    for name in PROFILE_FIELDS:
        value = raw.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise ValueError(f"{name}: not a string")
        given[name] = value
    for name in ("email", "username"):
        if not given.get(name, "").strip():
            raise ValueError(f"{name}: required")
    for name in IMPORT_FLAGS:
        flag = _import_flag(name, raw.get(name))
        if flag is not None:
            given[name] = flag
    hashed = raw.get("hashed_password")
    if hashed not in (None, ""):
        given["password"] = _imported_hash(hashed)
    user = User(**{name: given[name] for name in PROFILE_FIELDS if name in given})
    user.clean()
    errors = _invalid_fields(user, [name for name in PROFILE_FIELDS if name in given])
    if errors:
        first = errors[0]
        raise ValueError(f"{first.field}: {first.message}")
    given["email"], given["username"] = user.email, user.username
    return _ImportRow(line=line, user=user, given=given)


def _import_flag(name: str, value) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in TRUE_WORDS | FALSE_WORDS:
        return value.strip().lower() in TRUE_WORDS
    raise ValueError(f"{name}: not a boolean")


def _imported_hash(value) -> str:
    """A Django password field value for an exported hash: raw bcrypt gains
    Django's `bcrypt$` prefix; Django-format hashes are kept as they are."""
    if not isinstance(value, str):
        raise ValueError("hashed_password: not a string")
    value = value.strip()
    if RAW_BCRYPT.fullmatch(value):
        return f"bcrypt${value}"
    algorithm = value.split("$", 1)[0]
    if algorithm not in IMPORTABLE_HASHERS:
        raise ValueError("hashed_password: not a recognised password hash")
    if algorithm in ("bcrypt", "bcrypt_sha256") and not RAW_BCRYPT.fullmatch(
        value.split("$", 1)[1]
    ):
        raise ValueError("hashed_password: malformed bcrypt hash")
    try:
        get_hasher(algorithm).decode(value)
    except (ValueError, TypeError, IndexError):
        # get_hasher refuses algorithms missing from PASSWORD_HASHERS too.
        raise ValueError(
            f"hashed_password: malformed or unsupported {algorithm} hash"
        ) from None
    return value


def _import_batch(batch: list[_ImportRow], result: ImportResult, fail) -> None:
    rows = _without_duplicates(batch, fail)
    try:
        with transaction.atomic():
            created, updated, refused = _write_imported(rows)
    except IntegrityError:
        # A concurrent sign-up took an address or a username after the checks:
        # retry row by row so only the row that lost the race fails.
        if len(rows) == 1:
            fail(rows[0].line, "email or username already taken")
            return
        for row in rows:
            _import_batch([row], result, fail)
        return
    result.created += created
    result.updated += updated
    for line, reason in refused:
        fail(line, reason)


def _without_duplicates(batch: list[_ImportRow], fail) -> list[_ImportRow]:
    first_line = {}
    kept = []
    for row in batch:
        keys = [("email", row.user.email), ("username", row.user.username.lower())]
        clash = next((key for key in keys if key in first_line), None)
        if clash:
            fail(row.line, f"{clash[0]}: same as line {first_line[clash]}")
            continue
        for key in keys:
            first_line[key] = row.line
        kept.append(row)
    return kept


def _write_imported(rows: list[_ImportRow]) -> tuple[int, int, list]:
    # Locked until the batch commits, so a concurrent change to one of these
    # accounts is not overwritten with what was read before it.
    existing = {}
    # A live account wins over a soft-deleted one with the same address (the
    # deleted one no longer holds it); a deleted one alone is refused below.
    for user in (
        User.objects.select_for_update()
        .filter(In(Lower("email"), [r.user.email for r in rows]))
        .order_by(F("deleted_at").desc(nulls_first=True))
    ):
        existing.setdefault(user.email, user)
    owner_of_username = dict(
        User.objects.live()
        .filter(In(Lower("username"), [r.user.username.lower() for r in rows]))
        .annotate(username_lower=Lower("username"))
        .values_list("username_lower", "email")
    )
    to_create, to_update, to_revoke, refused = [], [], [], []
    changed_fields: set[str] = set()
    for row in rows:
        owner = owner_of_username.get(row.user.username.lower())
        if owner is not None and owner != row.user.email:
            refused.append((row.line, "username: already taken by another account"))
            continue
        user = existing.get(row.user.email)
        if user is None:
            to_create.append(_new_imported_user(row))
            continue
        if user.deleted_at is not None:
            refused.append(
                (row.line, "email: the account is deleted; restore it first")
            )
            continue
        revoke = (
            "password" in row.given and row.given["password"] != user.password
        ) or (row.given.get("is_active") is False and user.is_active)
        for name, value in row.given.items():
            setattr(user, name, value)
        if row.given.get("is_superuser"):
            user.is_staff = True
        changed_fields.update(row.given)
        to_update.append(user)
        if revoke:
            to_revoke.append(user.pk)
    User.objects.bulk_create(to_create)
    if to_update:
        fields = sorted(
            changed_fields
            | ({"is_staff"} if "is_superuser" in changed_fields else set())
        )
        User.objects.bulk_update(to_update, fields)
    if to_revoke:
        User.objects.filter(pk__in=to_revoke).update(
            token_generation=F("token_generation") + 1
        )
        TokenSession.objects.filter(
            user_id__in=to_revoke, revoked_at__isnull=True
        ).update(revoked_at=timezone.now())
    AuthEvent.objects.bulk_create(
        [
            AuthEvent(user=user, type=AuthEvent.Type.SIGNUP, detail={"imported": True})
            for user in to_create
        ]
        + [
            AuthEvent(
                user=user,
                type=AuthEvent.Type.PROFILE_UPDATED,
                detail={"imported": True},
            )
            for user in to_update
        ]
    )
    return len(to_create), len(to_update), refused


def _new_imported_user(row: _ImportRow) -> User:
    user = row.user
    for name, value in row.given.items():
        setattr(user, name, value)
    if "password" not in row.given:
        # Nobody knows a password for this account: its owner sets one through
        # the forgot-password link.
        user.set_unusable_password()
    user.is_staff = row.given.get("is_superuser", False)
    return user
