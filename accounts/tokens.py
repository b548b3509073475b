"""JWT access and refresh tokens, and the one-time link tokens (password
reset, email verification, factor reset, email change). The keys that sign the
JWTs live in accounts.signing_keys.

Every JWT carries `gen`, the user's token_generation when it was issued: bumping
the user's counter revokes every earlier token at once (architecture.md). Refresh
tokens and the access tokens minted with them also carry `sid`, their session.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import tokens as django_tokens
from django.core import signing
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from rest_framework_simplejwt import tokens as simplejwt_tokens

from accounts.assurance import Assurance
from accounts.signing_keys import token_backend

GENERATION_CLAIM = "gen"
SESSION_CLAIM = "sid"


class _OurBackendMixin:
    @property
    def token_backend(self):
        return token_backend()


class AccessToken(_OurBackendMixin, simplejwt_tokens.Token):
    token_type = "access"

    @property
    def lifetime(self):
        return timedelta(minutes=settings.ACCESS_TOKEN_EXPIRE_MINUTES)


class RefreshToken(_OurBackendMixin, simplejwt_tokens.Token):
    token_type = "refresh"

    @property
    def lifetime(self):
        return timedelta(days=settings.REFRESH_TOKEN_EXPIRE_DAYS)


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    session_id: str
    token_type: str = "Bearer"
    # When the refresh token expires (epoch seconds): a cookie carrying it
    # lives exactly as long.
    refresh_expires_at: int = 0
    # TokenSession.Transport of the session: "cookie" keeps the refresh token
    # out of every body (accounts.api.transport).
    transport: str = "body"


def mint_pair(
    user,
    *,
    session_id: str,
    assurance: Assurance,
    not_after: datetime | None = None,
    refresh_jti: str | None = None,
) -> tuple[TokenPair, str]:
    """Mint an access + refresh token for a session; returns the pair and the
    refresh token's jti (the only part of it the server keeps). Neither token
    outlives `not_after`, the end of the session. The access token carries the
    session's assurance (auth_time, amr, aal); the refresh token does not: a
    refresh reads it from the session row, so it can never be renewed by one."""
    claims = {
        "sub": str(user.pk),
        GENERATION_CLAIM: user.token_generation,
        SESSION_CLAIM: session_id,
    }
    refresh = RefreshToken()
    access = AccessToken()
    for token in (refresh, access):
        for name, value in claims.items():
            token[name] = value
        if not_after is not None:
            token["exp"] = min(token["exp"], int(not_after.timestamp()))
    for name, value in assurance.claims().items():
        access[name] = value
    if refresh_jti:
        refresh["jti"] = refresh_jti
    pair = TokenPair(
        access_token=str(access),
        refresh_token=str(refresh),
        expires_in=int(access.lifetime.total_seconds()),
        session_id=session_id,
        refresh_expires_at=int(refresh["exp"]),
    )
    return pair, refresh["jti"]


def mint_access(
    user, *, session_id: str, assurance: Assurance, not_after: datetime | None = None
) -> tuple[str, int]:
    """An access token alone for an existing session (after reauthentication:
    the refresh token is left as it is). Returns the token and its lifetime in
    seconds; it never outlives `not_after`, the end of the session."""
    access = AccessToken()
    access["sub"] = str(user.pk)
    access[GENERATION_CLAIM] = user.token_generation
    access[SESSION_CLAIM] = session_id
    if not_after is not None:
        access["exp"] = min(access["exp"], int(not_after.timestamp()))
    for name, value in assurance.claims().items():
        access[name] = value
    return str(access), int(access.lifetime.total_seconds())


def is_current(user, payload) -> bool:
    """Whether a JWT of `user` (its claims, `payload`) still stands: the account
    is usable, no revocation bumped the user's token_generation since the token
    was minted, and its session was not signed out on its own.

    Reads only the user row, which authentication loads anyway: comparing
    counters (not timestamps) kills tokens minted in the same second as the
    revocation without depending on clocks.
    """
    return (
        user.is_usable
        and payload.get(GENERATION_CLAIM) == user.token_generation
        and str(payload.get(SESSION_CLAIM)) not in (user.revoked_sessions or {})
    )


class ResetTokenGenerator(django_tokens.PasswordResetTokenGenerator):
    """Django's reset tokens, also bound to token_generation: signing out
    everywhere (or a deactivation) kills pending reset links too.

    The password hash in the state makes a token work once: the reset changes it.
    """

    key_salt = "accounts.tokens.PasswordResetTokenGenerator"

    def _make_hash_value(self, user, timestamp):
        return super()._make_hash_value(user, timestamp) + f"|{user.token_generation}"


class EmailVerificationTokenGenerator(django_tokens.PasswordResetTokenGenerator):
    """Its own salt, so a reset token is never a verification token (and back).

    The state is the address and its verified flag: the link dies once used or
    when the address changes.
    """

    key_salt = "accounts.tokens.EmailVerificationTokenGenerator"

    def _make_hash_value(self, user, timestamp):
        return f"{user.pk}|{user.email}|{user.email_verified}|{timestamp}"


password_reset_token = ResetTokenGenerator()
email_verification_token = EmailVerificationTokenGenerator()


FACTOR_RESET_ACCEPT = "accept"
FACTOR_RESET_CANCEL = "cancel"
_FACTOR_RESET_SALT = "accounts.tokens.factor_reset"


def factor_reset_token(reset_id: str, action: str) -> str:
    """A factor-reset link's token: names the reset and what the link does.
    Signed, not stored; whether it still works is the reset's state (accepted,
    cancelled, expired, the account's address and token_generation), which
    accounts.services.factor_reset checks."""
    return signing.dumps({"reset": reset_id, "do": action}, salt=_FACTOR_RESET_SALT)


def read_factor_reset_token(token) -> tuple[str | None, str | None]:
    """(reset id, action) of a genuine token; (None, None) for anything else."""
    try:
        data = signing.loads(token, salt=_FACTOR_RESET_SALT)
        return str(data["reset"]), str(data["do"])
    except (signing.BadSignature, TypeError, KeyError, ValueError):
        return None, None


class EmailChangeTokenGenerator:
    """The confirm and cancel tokens of a pending address change: a keyed hash,
    made like Django's reset tokens but each purpose with its own salt, so a
    cancel token never confirms (nor the reverse).

    Nothing is stored: the token hashes the state it stands for, so it dies
    when that state changes: the pending address, the moment of the request
    (a replaced change has new tokens), the level it was asked at, the
    account's token_generation (revocations void outstanding links), and the
    second factors the account had when asking (removing one voids them).
    Confirming or cancelling clears the change, which voids both.
    The account's id travels with the hash as `<uidb64>.<hash>`.
    """

    def __init__(self, purpose: str):
        self.key_salt = f"accounts.tokens.EmailChangeTokenGenerator.{purpose}"

    def make_token(self, user) -> str:
        uid = urlsafe_base64_encode(force_bytes(user.pk))
        return f"{uid}.{self._hash(user, settings.SECRET_KEY)}"

    def check_token(self, user, token: str) -> bool:
        if not user.pending_email or user.pending_email_requested_at is None:
            return False
        given = token.partition(".")[2]
        # The old keys too, so rotating SECRET_KEY does not break links in flight.
        return any(
            constant_time_compare(self._hash(user, secret), given)
            for secret in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
        )

    @staticmethod
    def user_id(token: str) -> uuid.UUID | None:
        """The account a token names, or None for anything malformed."""
        uid, dot, _ = token.partition(".") if isinstance(token, str) else ("", "", "")
        try:
            return uuid.UUID(force_str(urlsafe_base64_decode(uid))) if dot else None
        except (TypeError, ValueError, OverflowError, UnicodeDecodeError):
            return None

    def _hash(self, user, secret) -> str:
        factors = sorted(
            str(pk)
            for pk in user.authenticators.filter(
                created_at__lte=user.pending_email_requested_at
            ).values_list("pk", flat=True)
        )
        state = "|".join(
            [
                str(user.pk),
                user.pending_email,
                user.pending_email_requested_at.isoformat(),
                str(user.pending_email_aal),
                str(user.token_generation),
                ",".join(factors),
            ]
        )
        return salted_hmac(
            self.key_salt, state, secret=secret, algorithm="sha256"
        ).hexdigest()


email_change_confirm_token = EmailChangeTokenGenerator("confirm")
email_change_cancel_token = EmailChangeTokenGenerator("cancel")
