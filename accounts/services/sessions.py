"""API sessions: issuing, rotating and revoking token pairs."""

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenError

from accounts import throttles
from accounts.assurance import Assurance
from accounts.client import NO_CLIENT, Client
from accounts.compiled_lookup import load_token_session, move_refresh_jti
from accounts.errors import (
    InvalidRefreshToken,
    NotYourToken,
    RefreshConflict,
    RefreshTokenReused,
    SessionNotFound,
)
from accounts.models import AuthEvent, BrowserSession, TokenSession, User
from accounts.services.audit import record
from accounts.services.revocation import (
    browser_entry,
    revoke_all_tokens,
    revoke_other_sessions,
    revoke_session_tokens,
)
from accounts.tokens import (
    SESSION_CLAIM,
    RefreshToken,
    TokenPair,
    is_current,
    mint_pair,
)

# Two tabs of one SPA share its refresh cookie: when both refresh at once, the
# loser presents the token the winner just rotated. Within this grace that is
# a conflict to retry, not theft.
REFRESH_CONFLICT_GRACE = timedelta(seconds=10)


def start_api_session(
    *,
    user: User,
    assurance: Assurance,
    client: Client = NO_CLIENT,
    transport: str = TokenSession.Transport.BODY,
) -> TokenPair:
    """Start a new API session for an already authenticated user: its first
    token pair, carrying what the sign-in proved (`assurance`). One insert, so
    it needs no transaction of its own; sign-in, sign-up and change-password
    call it inside theirs. `transport` (TokenSession.Transport) is how its
    refresh tokens travel for the session's whole life."""
    session_id = str(uuid.uuid4())
    now = timezone.now()
    expires_at = _session_end(created_at=now, now=now)
    assurance = assurance.in_session(session_id)
    pair, jti = mint_pair(
        user, session_id=session_id, assurance=assurance, not_after=expires_at
    )
    TokenSession.objects.create(
        id=session_id,
        user=user,
        refresh_jti=jti,
        created_at=now,
        last_used_at=now,
        expires_at=expires_at,
        ip=client.ip,
        user_agent=client.user_agent,
        auth_time=datetime.fromtimestamp(assurance.auth_time, tz=UTC),
        amr=list(assurance.amr),
        aal=assurance.aal,
        transport=transport,
    )
    return dataclasses.replace(pair, transport=transport)


def session_transport(session_id: str | None) -> str:
    """How the refresh tokens of an API session travel (body for a browser
    session or an unknown id)."""
    if not session_id or session_id.startswith("web:"):
        return TokenSession.Transport.BODY
    found = (
        TokenSession.objects.filter(pk=session_id)
        .values_list("transport", flat=True)
        .first()
    )
    return found or TokenSession.Transport.BODY


def session_assurance(session: TokenSession) -> Assurance:
    """What an API session has proved, as its row records it."""
    return Assurance(
        auth_time=int(session.auth_time.timestamp()),
        amr=tuple(session.amr or ()),
        aal=session.aal,
        session_id=str(session.pk),
    )


def record_session_assurance(*, user: User, assurance: Assurance) -> None:
    """Store what an API session has now proved on its row, so that its next
    refresh carries it (tokens already issued keep what they were minted
    with). A browser session ("web:...") keeps its own: the door stores it."""
    session_id = assurance.session_id
    if not session_id or session_id.startswith("web:"):
        return
    TokenSession.objects.filter(pk=session_id, user=user).update(
        auth_time=datetime.fromtimestamp(assurance.auth_time, tz=UTC),
        amr=list(assurance.amr),
        aal=assurance.aal,
    )


def _session_end(*, created_at: datetime, now: datetime) -> datetime:
    """Each refresh extends a session by the refresh-token lifetime, but never
    past SESSION_MAX_AGE_DAYS from its sign-in: a stolen refresh token, kept
    fresh by a thief, still dies (and so does a forgotten device)."""
    return min(
        now + timedelta(days=settings.REFRESH_TOKEN_EXPIRE_DAYS),
        created_at + timedelta(days=settings.SESSION_MAX_AGE_DAYS),
    )


def rotate_refresh_token(
    *, refresh_token: str, client: Client = NO_CLIENT
) -> TokenPair:
    """Rotate a refresh token: the presented one stops working.

    Presenting a token that was already rotated means two parties hold it (theft):
    every session of the user is revoked, access tokens included. The one
    exception is the token this session's last refresh superseded, presented
    within REFRESH_CONFLICT_GRACE: a second tab (RefreshConflict, nothing
    revoked). Only a refresh records `previous_jti`, so a token killed by a
    revocation is never a conflict (the revoked session or token_generation
    answers 401 first).

    The usual case costs two statements and no explicit transaction: the
    session and its user are read, the new pair minted, and the session row
    moved on by one conditional UPDATE that succeeds only while the row still
    holds the presented jti and is neither revoked nor expired (the UPDATE is
    atomic on its own; a revocation always sets revoked_at on the rows it
    ends). When it changes no row, something happened to the session in the
    meantime, and the locked path below decides what: a conflict, reuse or a
    refusal.
    """
    throttles.hit("refresh", client.ip)
    payload = _decode_refresh(refresh_token)
    try:
        session = load_token_session(payload.get(SESSION_CLAIM))
    except (ValidationError, ValueError, TypeError):
        session = None  # the locked path refuses it as it always did
    if session is not None and _rotatable(session, payload):
        now = timezone.now()
        expires_at = _session_end(created_at=session.created_at, now=now)
        pair, jti = mint_pair(
            session.user,
            session_id=str(session.pk),
            assurance=session_assurance(session),
            not_after=expires_at,
        )
        moved = move_refresh_jti(
            session_pk=session.pk,
            presented_jti=payload["jti"],
            new_jti=jti,
            now=now,
            expires_at=expires_at,
        )
        if moved:
            return dataclasses.replace(pair, transport=session.transport)
    return _rotate_locked(payload, client)


def _rotatable(session: TokenSession, payload) -> bool:
    return (
        not session.revoked_at
        and session.expires_at > timezone.now()
        and is_current(session.user, payload)
        and payload["jti"] == session.refresh_jti
    )


def _rotate_locked(payload, client: Client) -> TokenPair:
    """The rotation with the session row locked: refuses what cannot be
    rotated, and revokes everything on a reused token."""
    reused_by = None
    conflict = False
    with transaction.atomic():
        # The row lock (SQLite: the IMMEDIATE transaction's write lock) makes
        # two refreshes of one token take turns: the second sees the first's
        # rotation and answers a conflict.
        session = (
            TokenSession.objects.select_for_update()
            .select_related("user")
            .filter(pk=payload.get(SESSION_CLAIM))
            .first()
        )
        now = timezone.now()
        if session is None or session.revoked_at or session.expires_at <= now:
            raise InvalidRefreshToken()
        user = session.user
        if not is_current(user, payload):
            raise InvalidRefreshToken()
        if payload["jti"] == session.refresh_jti:
            session.expires_at = _session_end(created_at=session.created_at, now=now)
            pair, jti = mint_pair(
                user,
                session_id=str(session.pk),
                assurance=session_assurance(session),
                not_after=session.expires_at,
            )
            session.previous_jti, session.rotated_at = session.refresh_jti, now
            session.refresh_jti = jti
            session.last_used_at = now
            session.save(
                update_fields=[
                    "refresh_jti",
                    "previous_jti",
                    "rotated_at",
                    "last_used_at",
                    "expires_at",
                ]
            )
        elif (
            payload["jti"] == session.previous_jti
            and session.rotated_at is not None
            and now - session.rotated_at <= REFRESH_CONFLICT_GRACE
        ):
            conflict = True
        else:
            revoke_all_tokens(user)
            record(user, AuthEvent.Type.TOKEN_REUSE, client, session=str(session.pk))
            reused_by = user
    if conflict:
        raise RefreshConflict()
    if reused_by is not None:
        # Raised after the commit, so the revocation is not rolled back with it.
        raise RefreshTokenReused()
    return dataclasses.replace(pair, transport=session.transport)


def sign_out(*, user: User, refresh_token: str, client: Client = NO_CLIENT) -> None:
    """End the session a refresh token belongs to. Signing out somebody else's
    token is refused and revokes nothing."""
    payload = _decode_refresh(refresh_token)
    if payload.get("sub") != str(user.pk):
        raise NotYourToken()
    sign_out_session(user=user, session_id=payload.get(SESSION_CLAIM), client=client)


def sign_out_session(*, user: User, session_id, client: Client = NO_CLIENT) -> None:
    """End one API session of the user's, as a sign-out (a cookie SPA whose
    cookie is already gone signs out the session of its access token)."""
    with transaction.atomic():
        revoked = TokenSession.objects.filter(
            pk=session_id, user=user, revoked_at__isnull=True
        ).update(revoked_at=timezone.now())
        if revoked:
            revoke_session_tokens(user, session_id)
            record(user, AuthEvent.Type.SIGNOUT, client)


def record_browser_sign_out(*, user: User, client: Client = NO_CLIENT) -> None:
    """A browser session ended by its owner. Django ends the session itself;
    this puts the sign-out in the audit trail beside the API's, so the security
    page shows where the account stopped being used as well as where it began."""
    record(user, AuthEvent.Type.SIGNOUT, client, door="web")


def sign_out_all(*, user: User, client: Client = NO_CLIENT) -> None:
    """Revoke every token and session of the user, web sessions included."""
    with transaction.atomic():
        revoke_all_tokens(user)
        record(user, AuthEvent.Type.SIGNOUT_ALL, client)


def active_sessions(*, user: User):
    return TokenSession.objects.filter(
        user=user, revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).order_by("-last_used_at")


def revoke_session(*, user: User, session_id, client: Client = NO_CLIENT) -> None:
    """Revoke one API session of the user's, its access tokens included; the
    caller's own current one may go too. Another user's is "not found"."""
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
        revoke_session_tokens(user, session_id)
        record(user, AuthEvent.Type.SESSION_REVOKED, client, session=str(session_id))


def _decode_refresh(raw: str) -> dict:
    try:
        return RefreshToken(raw).payload
    except (TokenError, TypeError, ValueError):
        raise InvalidRefreshToken() from None


# How often a browser's "last seen" is written: once a minute is precise enough
# for the security page and spares a write on every page view.
BROWSER_SEEN_RESOLUTION = timedelta(minutes=1)


def start_browser_session(*, user: User, client: Client = NO_CLIENT) -> str:
    """Record a browser sign-in (pages, second factor, code, sign-up, admin) so
    its owner can see and end it; the door keeps the returned id in the
    browser's session."""
    return str(
        BrowserSession.objects.create(
            user=user, ip=client.ip, user_agent=client.user_agent
        ).pk
    )


def touch_browser_session(*, browser_session_id: str) -> None:
    """The browser was used just now (the door calls this at most once per
    BROWSER_SEEN_RESOLUTION)."""
    BrowserSession.objects.filter(
        pk=browser_session_id, revoked_at__isnull=True
    ).update(last_seen_at=timezone.now())


def end_browser_session(*, browser_session_id: str) -> None:
    """The browser signed out (or was signed out): off the security page."""
    BrowserSession.objects.filter(
        pk=browser_session_id, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())


def active_browser_sessions(*, user: User):
    """Browser sign-ins that may still be in use: not ended, and neither idle
    nor old enough for the idle timeout or the maximum age to have ended them."""
    now = timezone.now()
    return BrowserSession.objects.filter(
        user=user,
        revoked_at__isnull=True,
        created_at__gt=now - timedelta(days=settings.SESSION_MAX_AGE_DAYS),
        last_seen_at__gt=now
        - timedelta(seconds=settings.SESSION_IDLE_TIMEOUT)
        - BROWSER_SEEN_RESOLUTION,
    ).order_by("-last_seen_at", "-created_at")


def revoke_browser_session(
    *, user: User, browser_session_id, client: Client = NO_CLIENT
) -> None:
    """Sign one browser of the user's out; it finds out on its next request
    (accounts.middleware reads the user row's revoked-sessions list, which it
    loads anyway). Another user's browser is "not found"."""
    try:
        browser_session_id = uuid.UUID(str(browser_session_id))
    except ValueError:
        raise SessionNotFound() from None
    with transaction.atomic():
        revoked = BrowserSession.objects.filter(
            pk=browser_session_id, user=user, revoked_at__isnull=True
        ).update(revoked_at=timezone.now())
        if not revoked:
            raise SessionNotFound()
        revoke_session_tokens(user, browser_entry(browser_session_id))
        record(
            user,
            AuthEvent.Type.SESSION_REVOKED,
            client,
            door="web",
            session=str(browser_session_id),
        )


def sign_out_everywhere_else(
    *, user: User, keep_browser_session_id: str | None, client: Client = NO_CLIENT
) -> None:
    """End every API session and every other browser sign-in, keeping the
    browser that asked. Every browser's session hash changes (the door
    refreshes the kept one's), so even a browser without a BrowserSession row
    (signed in before they existed) is signed out."""
    with transaction.atomic():
        revoke_other_sessions(
            user,
            keep_session_id=None,
            keep_browser_session_id=keep_browser_session_id,
        )
        record(user, AuthEvent.Type.SIGNOUT_ALL, client, kept="this browser")
