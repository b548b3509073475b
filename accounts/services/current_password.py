"""Checking the current password of a signed-in session (change-password,
delete-account): limited per session, so a stolen session is no password
oracle."""

import uuid

from django.conf import settings

from accounts import throttles
from accounts.client import Client
from accounts.errors import IncorrectPassword, SessionNotFound, SessionRevoked
from accounts.models import User
from accounts.services.sessions import revoke_session


def check_current_password(
    user: User,
    password: str,
    *,
    session_id: str | None,
    client: Client,
    error: IncorrectPassword,
) -> None:
    """Raise `error` for a wrong password. The session's 5th wrong one revokes
    the session (the answer is still `error`, with session_ended set, so a page
    can sign the browser out); any later attempt in it is SessionRevoked.

    Counted per session, not per account: a thief holding a session must not be
    able to lock the owner out, nor guess without limit (each guess is an
    Argon2 hash the attacker gets evaluated). On even with THROTTLE_RATES=off.
    `session_id` is the API session (the token's sid), or any stable name of
    the caller's session (pages pass their Django session's)."""
    refuse_spent_session(session_id)
    if password and user.check_password(password[: settings.PASSWORD_MAX_LENGTH + 1]):
        return
    count_wrong_answer(user, session_id=session_id, client=client, error=error)


def refuse_spent_session(session_id: str | None) -> None:
    """SessionRevoked once the session has given its last wrong answer."""
    if session_id and (
        throttles.session_failures(session_id) >= throttles.SESSION_PASSWORD_LIMIT
    ):
        raise SessionRevoked()


def count_wrong_answer(
    user: User, *, session_id: str | None, client: Client, error
) -> None:
    """Count a wrong current password or code against the session and raise
    `error`; the session's 5th wrong answer revokes it (error.session_ended)."""
    if session_id and (
        throttles.record_session_failure(session_id) >= throttles.SESSION_PASSWORD_LIMIT
    ):
        _end_api_session(user, session_id, client)
        error.session_ended = True
    raise error


def _end_api_session(user: User, session_id: str, client: Client) -> None:
    try:
        uuid.UUID(session_id)
    except ValueError:
        return  # a browser session: the page signs it out
    try:
        revoke_session(user=user, session_id=session_id, client=client)
    except SessionNotFound:
        pass  # already ended
