"""JWT access and refresh tokens, the signing keys behind them, and the two
one-time link tokens (password reset, email verification).

Every JWT carries `gen`, the user's token_generation when it was issued: bumping
the user's counter revokes every earlier token at once (architecture.md). Refresh
tokens and the access tokens minted with them also carry `sid`, their session.
"""

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

import jwt
from django.conf import settings
from django.contrib.auth import tokens as django_tokens
from rest_framework_simplejwt import tokens as simplejwt_tokens
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import TokenBackendError

GENERATION_CLAIM = "gen"
SESSION_CLAIM = "sid"


class KeyIdTokenBackend(TokenBackend):
    """SimpleJWT's backend, plus a `kid` header so verifiers can pick the key.

    Verification pins the configured algorithm (PyJWT refuses `alg: none` and an
    HS token signed with a published RS public key) and requires a known `kid`.
    """

    def __init__(self, algorithm, signing_key, verifying_keys: dict[str, object]):
        super().__init__(algorithm, signing_key)
        self.kid = next(iter(verifying_keys))
        self.verifying_keys = verifying_keys

    def encode(self, payload):
        return jwt.encode(
            payload,
            self.prepared_signing_key,
            algorithm=self.algorithm,
            headers={"kid": self.kid},
        )

    def get_verifying_key(self, token):
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.InvalidTokenError as exc:
            raise TokenBackendError("Token is invalid") from exc
        try:
            return self.verifying_keys[kid]
        except (KeyError, TypeError) as exc:
            raise TokenBackendError("Token is invalid") from exc


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def load_key_pair() -> tuple[object, object]:
    """Load the PEM key pair named by JWT_PRIVATE_KEY_FILE / JWT_PUBLIC_KEY_FILE."""
    algorithm = jwt.get_algorithm_by_name(settings.JWT_ALGORITHM)
    private = Path(settings.JWT_PRIVATE_KEY_FILE).read_bytes()
    public = Path(settings.JWT_PUBLIC_KEY_FILE).read_bytes()
    try:
        private_key = algorithm.prepare_key(private)
        public_key = algorithm.prepare_key(public)
    except Exception as exc:  # PyJWT raises several types for unusable keys
        raise ValueError(str(exc)) from exc
    if not hasattr(private_key, "sign"):
        raise ValueError("JWT_PRIVATE_KEY_FILE does not hold a private key")
    return private_key, public_key


def public_jwk(public_key) -> dict:
    """The public key as a JWK whose `kid` is its RFC 7638 thumbprint."""
    jwk = json.loads(
        jwt.get_algorithm_by_name(settings.JWT_ALGORITHM).to_jwk(public_key)
    )
    required = ("crv", "kty", "x", "y") if jwk["kty"] == "EC" else ("e", "kty", "n")
    canonical = json.dumps({k: jwk[k] for k in required}, separators=(",", ":"))
    jwk.update(kid=_b64(hashlib.sha256(canonical.encode()).digest()), use="sig")
    jwk["alg"] = settings.JWT_ALGORITHM
    return jwk


@lru_cache(maxsize=4)
def _backend(algorithm, signing_key, private_file, public_file) -> KeyIdTokenBackend:
    if algorithm.startswith("HS"):
        # The kid names the key without revealing it (a hash of a hash).
        kid = hashlib.sha256(b"kid:" + signing_key.encode()).hexdigest()[:16]
        return KeyIdTokenBackend(algorithm, signing_key, {kid: signing_key})
    private_key, public_key = load_key_pair()
    return KeyIdTokenBackend(
        algorithm, private_key, {public_jwk(public_key)["kid"]: public_key}
    )


def token_backend() -> KeyIdTokenBackend:
    return _backend(
        settings.JWT_ALGORITHM,
        settings.JWT_SIGNING_KEY,
        settings.JWT_PRIVATE_KEY_FILE,
        settings.JWT_PUBLIC_KEY_FILE,
    )


def jwks() -> dict:
    """The JWK set to publish: empty for HMAC (nothing public to share)."""
    if settings.JWT_ALGORITHM.startswith("HS"):
        return {"keys": []}
    _, public_key = load_key_pair()
    return {"keys": [public_jwk(public_key)]}


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


def mint_pair(
    user, *, session_id: str, refresh_jti: str | None = None
) -> tuple[TokenPair, str]:
    """Mint an access + refresh token for a session; returns the pair and the
    refresh token's jti (the only part of it the server keeps)."""
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
    if refresh_jti:
        refresh["jti"] = refresh_jti
    pair = TokenPair(
        access_token=str(access),
        refresh_token=str(refresh),
        expires_in=int(access.lifetime.total_seconds()),
        session_id=session_id,
    )
    return pair, refresh["jti"]


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
