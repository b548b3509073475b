"""The account use cases: every write to an account goes through here.

Both doors (the JSON API and the HTML pages) call these functions and map the
errors of accounts.errors to their own output. A service never sees a request:
callers pass the client's IP and user agent as plain values.
"""

import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import authenticate, password_validation
from django.contrib.auth.signals import user_logged_in
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
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
    attempt. One answer for an unknown account and a wrong password, so the
    response never tells which accounts exist."""
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
        user.save(update_fields=["last_login", "password"])  # password: hash upgrade
        _record(user, AuthEvent.Type.SIGNIN_SUCCEEDED, client)
        tokens = _start_session(user, client) if issue_tokens else None
    user_logged_in.send(sender=User, request=None, user=user)
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
    user = _user_for_link(uid, token, password_reset_token)
    _validate_password(new_password, user, field="new_password")
    with transaction.atomic():
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
    user = _user_for_link(uid, token, email_verification_token)
    with transaction.atomic():
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


def _user_for_link(uid: str, token: str, generator) -> User:
    try:
        pk = uuid.UUID(force_str(urlsafe_base64_decode(uid)))
    except (TypeError, ValueError, OverflowError, UnicodeDecodeError):
        raise InvalidToken() from None
    user = User.objects.filter(pk=pk, is_active=True, deleted_at__isnull=True).first()
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
    matches = User.objects.with_email(email)
    if exclude is not None:
        matches = matches.exclude(pk=exclude.pk)
    return EmailTaken() if matches.exists() else None


def _username_taken(username: str, exclude: User | None = None) -> FieldError | None:
    if not username:
        return None
    matches = User.objects.with_username(username)
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
