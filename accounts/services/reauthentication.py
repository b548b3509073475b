"""Recent sign-in: sensitive changes need a session that proved a factor
lately, and reauthentication is how a session proves one again."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.assurance import PASSKEY, PASSWORD, Assurance
from accounts.client import NO_CLIENT, Client
from accounts.errors import (
    IncorrectPassword,
    InvalidCode,
    PasskeyRejected,
    ReauthenticationRequired,
    SecondFactorRequired,
    SessionRevoked,
)
from accounts.models import AuthEvent, TokenSession, User
from accounts.services.audit import record
from accounts.services.current_password import count_wrong_answer, refuse_spent_session
from accounts.services.passkey_assertions import check_assertion
from accounts.services.second_factor import verify_second_factor
from accounts.services.sessions import session_assurance
from accounts.services.webauthn_challenges import REAUTH, take_challenge
from accounts.tokens import mint_access


def require_recent_auth(*, user: User, assurance: Assurance) -> None:
    """Refuse unless the session proved a factor within REAUTH_WINDOW and, for an
    account with a second factor, proved one (level 2): a stolen access token or
    an unattended browser cannot change the email, the factors or the password."""
    if not assurance.is_recent(has_mfa=user.has_mfa):
        raise ReauthenticationRequired()


@dataclass(frozen=True)
class Reauthenticated:
    # What the session has proved now; a browser door keeps it in its session.
    assurance: Assurance
    # For an API session: a new access token carrying it (no refresh rotation).
    access_token: str | None = None
    expires_in: int | None = None


def reauthenticate(
    *,
    user: User,
    assurance: Assurance,
    password: str | None = None,
    code: str | None = None,
    challenge_token: str | None = None,
    credential=None,
    client: Client = NO_CLIENT,
) -> Reauthenticated:
    """Prove a factor again in the caller's session: the password (accounts
    without a second factor), a TOTP or recovery code, or a passkey (the
    `credential` answering the challenge of `challenge_token`, from options
    for purpose "reauth" in this session). An API session's row
    records the new auth_time, amr and aal, so later refreshes carry them, and
    a new access token is minted; a browser session gets the new assurance.

    Wrong answers count per session like wrong current passwords (the 5th
    revokes the session), never toward the account's sign-in limits: a token
    thief cannot lock the owner out. Audited."""
    session_id = assurance.session_id
    refuse_spent_session(session_id)
    if credential is not None:
        method, error = _verify_passkey(
            user, challenge_token, credential, session_id, client
        )
    elif user.has_mfa and code is None:
        # A password alone never raises an account with a second factor.
        raise SecondFactorRequired()
    elif code is not None:
        method = verify_second_factor(user=user, code=code)
        error = InvalidCode()
    else:
        method = PASSWORD if _password_matches(user, password) else None
        error = IncorrectPassword("Incorrect password", field="password")
    if method is None:
        count_wrong_answer(user, session_id=session_id, client=client, error=error)
    with transaction.atomic():
        session = _api_session(user, session_id)
        if session is None:
            proved = assurance.then(method)
            access_token = expires_in = None
        else:
            proved = session_assurance(session).then(method)
            session.auth_time = datetime.fromtimestamp(proved.auth_time, tz=UTC)
            session.amr = list(proved.amr)
            session.aal = proved.aal
            session.save(update_fields=["auth_time", "amr", "aal"])
            access_token, expires_in = mint_access(
                user,
                session_id=str(session.pk),
                assurance=proved,
                not_after=session.expires_at,
            )
        record(user, AuthEvent.Type.REAUTHENTICATED, client, method=method)
    return Reauthenticated(
        assurance=proved, access_token=access_token, expires_in=expires_in
    )


def _verify_passkey(user: User, challenge_token, credential, session_id, client):
    """PASSKEY, or None and the error to count. A used, expired or foreign
    challenge is refused at once (PasskeyRejected) and counts nothing."""
    with transaction.atomic():
        live = take_challenge(
            REAUTH, challenge_token, user=user, session_id=session_id or ""
        )
        if live is None or not session_id:
            raise PasskeyRejected()
        checked = check_assertion(live, credential, owner=user, client=client)
    if checked.passkey is None:
        return None, checked.error()
    return PASSKEY, None


def _password_matches(user: User, password: str | None) -> bool:
    return bool(password) and user.check_password(
        password[: settings.PASSWORD_MAX_LENGTH + 1]
    )


def _api_session(user: User, session_id: str | None) -> TokenSession | None:
    """The caller's API session, locked; None for a browser session. An API
    session that ended meanwhile cannot be raised (SessionRevoked)."""
    try:
        uuid.UUID(str(session_id))
    except ValueError:
        return None
    session = (
        TokenSession.objects.select_for_update()
        .filter(
            pk=session_id,
            user=user,
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .first()
    )
    if session is None:
        raise SessionRevoked()
    return session
