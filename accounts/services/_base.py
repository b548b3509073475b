"""Pieces every flow shares: the client value, field checks, audit, revocation."""

import hashlib
import logging
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode

from accounts import identifiers, throttles
from accounts.client import NO_CLIENT, Client  # noqa: F401  (re-exported)
from accounts.errors import (
    EmailTaken,
    FieldError,
    InvalidToken,
    Throttled,
    UsernameTaken,
    ValidationFailed,
    WeakPassword,
)
from accounts.managers import normalize_email
from accounts.models import AuthEvent, TokenSession, User
from accounts.tasks import answer_recovery_request
from accounts.tokens import TokenPair

security_log = logging.getLogger("accounts.security")


PROFILE_FIELDS = ("username", "email", "first_name", "last_name")


@dataclass(frozen=True)
class SignedIn:
    user: User
    tokens: TokenPair | None


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


# Clocks of different servers may disagree a little; an entry outliving the
# tokens it guards by a minute costs nothing.
_REVOKED_SESSION_SLACK = 60


def _revoke_session_tokens(user: User, session_id: str) -> None:
    """Make the access tokens of one session fail at once (its refresh token is
    the caller's business). Must run inside the caller's transaction.

    The session id goes into the user row's short list of revoked sessions,
    which authentication reads with the row it loads anyway. The row is locked
    while the list is rewritten, so two revocations at once keep both entries;
    entries older than an access token's lifetime are dropped, as no token
    they could match is still unexpired.
    """
    locked = User.objects.select_for_update().only("revoked_sessions").get(pk=user.pk)
    now = int(timezone.now().timestamp())
    oldest = now - settings.ACCESS_TOKEN_EXPIRE_MINUTES * 60 - _REVOKED_SESSION_SLACK
    revoked = {
        sid: at for sid, at in (locked.revoked_sessions or {}).items() if at >= oldest
    }
    revoked[str(session_id)] = now
    User.objects.filter(pk=user.pk).update(revoked_sessions=revoked)
    user.revoked_sessions = revoked


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


def _user_for_link(uid: str, token: str, generator, lock: bool = False) -> User:
    try:
        pk = uuid.UUID(force_str(urlsafe_base64_decode(uid)))
    except (TypeError, ValueError, OverflowError, UnicodeDecodeError):
        raise InvalidToken() from None
    users = User.objects.select_for_update() if lock else User.objects
    user = users.usable().filter(pk=pk).first()
    if (
        user is None
        or not isinstance(token, str)
        or not generator.check_token(user, token)
    ):
        raise InvalidToken()
    return user


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
    """Whether another live account holds this address in any spelling."""
    if not email or _keeps_own(exclude, email, "email"):
        return None
    matches = User.objects.live().with_email(email)
    if exclude is not None:
        matches = matches.exclude(pk=exclude.pk)
    return EmailTaken() if matches.exists() else None


def _username_taken(username: str, exclude: User | None = None) -> FieldError | None:
    """Whether another live account holds this name, in any case, or a name that
    looks the same (confusable skeleton: impersonation)."""
    if not username or _keeps_own(exclude, username, "username"):
        return None
    if "\x00" in username:  # PostgreSQL text cannot hold NUL: matches nothing
        return None
    matches = User.objects.live().filter(
        Q(username_key=identifiers.username_key(username))
        | Q(username_skeleton=identifiers.username_skeleton(username))
    )
    if exclude is not None:
        matches = matches.exclude(pk=exclude.pk)
    return UsernameTaken() if matches.exists() else None


def _keeps_own(user: User | None, value: str, field: str) -> bool:
    # A live account re-submitting its own name or address (any spelling) holds
    # it already; an account that shared a key with an older one before keys
    # existed (migration 0008) must still be able to save its profile.
    if user is None or user.is_deleted:
        return False
    keeps = user.keeps_username if field == "username" else user.keeps_email
    return keeps(value)


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
        user_agent=client.user_agent,
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


def _taken(user: User, exclude: User | None = None) -> list[FieldError]:
    errors = (
        _email_taken(user.email, exclude=exclude),
        _username_taken(user.username, exclude=exclude),
    )
    return [error for error in errors if error]


def _prepare_account(user: User, password: str | None) -> None:
    """Check a new account before anything is written: field shapes, then
    uniqueness, then the password, all reported together. Hashes the password
    here, outside any transaction (no lock is held while Argon2 runs)."""
    user.clean()
    errors = _invalid_fields(user, PROFILE_FIELDS) or _taken(user)
    if password is not None:
        try:
            _validate_password(password, user, field="password")
        except WeakPassword as weak:
            errors.append(weak)
    if errors:
        raise ValidationFailed.merge(*errors)
    user.set_password(password)


def _insert_account(user: User) -> None:
    """Insert a prepared account inside the caller's transaction.

    The pre-check gave friendly errors; the unique constraints settle the race
    two simultaneous sign-ups would otherwise both win (the insert runs in a
    savepoint, so the caller's transaction survives the IntegrityError)."""
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise ValidationFailed.merge(*(_taken(user) or [EmailTaken()])) from None


def _queue_recovery(kind: str, email: str, client: Client) -> None:
    """Answer a forgot-password or resend request: count the client, queue the
    address, nothing more.

    The account lookup and the email happen in the worker, so the request does
    the same work and queries whether or not the address is registered
    (enumeration by response time). The client's address may 429; the target
    address never does here: a limit per target would let anyone lock its owner
    out of recovery, and tell them the address is being asked for."""
    throttles.hit("password", client.ip)
    # Only the typed address and the client go into the queue: the link and its
    # token are made when the email is rendered (token leakage from the queue).
    answer_recovery_request.enqueue(
        kind=kind,
        email=normalize_email(email),
        ip=client.ip,
        user_agent=client.user_agent,
    )


def _within_recovery_cap(kind: str, user: User) -> bool:
    """Whether `user` may receive one more recovery email of this kind this hour.

    Caps the flood an attacker can send to someone's mailbox. Withholding the
    email never locks the owner out: when the cap is reached their mailbox
    already holds this hour's links, and each of them still works."""
    try:
        throttles.hit("recovery_email", f"{kind}:{user.pk}")
    except Throttled:
        security_log.info(
            "%s email withheld: hourly cap reached",
            kind,
            extra={"event": "recovery_email_capped", "user_id": str(user.pk)},
        )
        return False
    return True
