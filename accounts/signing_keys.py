"""The keys that sign and verify our JWTs, and the JWK set that publishes them.

HS* algorithms sign with a shared secret (JWT_SIGNING_KEY), RS*/ES* with a
private key file whose public half is published at /.well-known/jwks.json.
Every token names its key in a `kid` header. During a rotation the previous
keys still verify until JWT_PREVIOUS_KEYS_UNTIL; new tokens are always signed
with the current key. `iss` and `aud` name this deployment (SITE_URL's
origin), and verification requires both: a token another service or another
deployment minted with the same key (staging sharing production's secret,
say) is refused here.
"""

import base64
import hashlib
import json
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

import jwt
from django.conf import settings
from django.utils import timezone
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import (
    TokenBackendError,
    TokenBackendExpiredToken,
)


class KeyIdTokenBackend(TokenBackend):
    """SimpleJWT's backend, plus a `kid` header so verifiers can pick the key.

    Verification pins the configured algorithm (PyJWT refuses `alg: none` and an
    HS token signed with a published RS public key) and requires a known `kid`:
    a current key, or a previous one while its grace period lasts. Tokens are
    always signed with the current key.
    """

    def __init__(
        self,
        algorithm,
        signing_key,
        verifying_keys: dict[str, object],
        previous_keys: dict[str, object] | None = None,
        previous_until: datetime | None = None,
        issuer: str | None = None,
    ):
        # SimpleJWT's decode then requires both claims and checks their values.
        super().__init__(algorithm, signing_key, audience=issuer, issuer=issuer)
        self.kid = next(iter(verifying_keys))
        self.verifying_keys = verifying_keys
        self.previous_keys = previous_keys or {}
        self.previous_until = previous_until

    def previous_keys_active(self) -> bool:
        """Whether the previous keys' grace period is running. Evaluated on every
        call, not when the backend is built: the backend is cached for the life
        of the process, the grace period is not."""
        return (
            bool(self.previous_keys)
            and self.previous_until is not None
            and timezone.now() < self.previous_until
        )

    def encode(self, payload):
        if self.issuer is not None:
            payload = {**payload, "iss": self.issuer, "aud": self.audience}
        return jwt.encode(
            payload,
            self.prepared_signing_key,
            algorithm=self.algorithm,
            headers={"kid": self.kid},
        )

    def decode(self, token, verify=True):
        """SimpleJWT's decode (same checks, same errors) reading the token once
        when only the current key verifies: PyJWT returns the header with the
        payload, and the `kid` is checked after. Reading the header first, to
        pick the key, parsed and validated the whole token twice (a tenth of a
        token-checked request). With previous keys in their grace period the
        header still picks the key first."""
        if not verify or self.previous_keys_active():
            return super().decode(token, verify=verify)
        try:
            decoded = jwt.decode_complete(
                token,
                self.verifying_keys[self.kid],
                algorithms=[self.algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.get_leeway(),
                options={"verify_aud": self.audience is not None},
            )
        except jwt.InvalidAlgorithmError as exc:
            raise TokenBackendError("Invalid algorithm specified") from exc
        except jwt.ExpiredSignatureError as exc:
            raise TokenBackendExpiredToken("Token is expired") from exc
        except jwt.InvalidTokenError as exc:
            raise TokenBackendError("Token is invalid") from exc
        if decoded["header"].get("kid") != self.kid:
            raise TokenBackendError("Token is invalid")
        return decoded["payload"]

    def get_verifying_key(self, token):
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.InvalidTokenError as exc:
            raise TokenBackendError("Token is invalid") from exc
        try:
            if kid in self.verifying_keys:
                return self.verifying_keys[kid]
            # A retired key stops working at the end of its grace period, even
            # for a token that has not expired yet (a leaked old key).
            if kid in self.previous_keys and self.previous_keys_active():
                return self.previous_keys[kid]
        except TypeError as exc:  # an unhashable kid
            raise TokenBackendError("Token is invalid") from exc
        raise TokenBackendError("Token is invalid")


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


def load_public_key(path: str) -> object:
    """Load a previous public key (JWT_PREVIOUS_PUBLIC_KEY_FILES) for JWT_ALGORITHM."""
    algorithm = jwt.get_algorithm_by_name(settings.JWT_ALGORITHM)
    data = Path(path).read_bytes()
    try:
        key = algorithm.prepare_key(data)
    except Exception as exc:  # PyJWT raises several types for unusable keys
        raise ValueError(str(exc)) from exc
    if hasattr(key, "sign"):
        # A retired private key has no business on the server any more.
        raise ValueError("holds a private key; give the public key")
    return key


def parse_previous_keys_until(value: str) -> datetime | None:
    """JWT_PREVIOUS_KEYS_UNTIL as an aware datetime (UTC when it names no offset),
    None when unset. Raises ValueError when malformed."""
    if not value.strip():
        return None
    moment = datetime.fromisoformat(value.strip())
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _hmac_kid(signing_key: str) -> str:
    # The kid names the key without revealing it (a hash of a hash).
    return hashlib.sha256(b"kid:" + signing_key.encode()).hexdigest()[:16]


def issuer() -> str:
    """This deployment's name in its tokens: SITE_URL's origin."""
    parts = urlsplit(settings.SITE_URL)
    return f"{parts.scheme}://{parts.netloc}"


@lru_cache(maxsize=4)
def _backend(
    issuer: str,
    algorithm,
    signing_key,
    private_file,
    public_file,
    previous_signing_keys: tuple[str, ...],
    previous_public_files: tuple[str, ...],
    previous_until: str,
) -> KeyIdTokenBackend:
    try:
        until = parse_previous_keys_until(previous_until)
    except ValueError:  # refused at start-up by accounts.checks; fail closed
        until = None
    if algorithm.startswith("HS"):
        return KeyIdTokenBackend(
            algorithm,
            signing_key,
            {_hmac_kid(signing_key): signing_key},
            {_hmac_kid(key): key for key in previous_signing_keys},
            until,
            issuer,
        )
    private_key, public_key = load_key_pair()
    previous = [load_public_key(path) for path in previous_public_files]
    return KeyIdTokenBackend(
        algorithm,
        private_key,
        {public_jwk(public_key)["kid"]: public_key},
        {public_jwk(key)["kid"]: key for key in previous},
        until,
        issuer,
    )


def token_backend() -> KeyIdTokenBackend:
    return _backend(
        issuer(),
        settings.JWT_ALGORITHM,
        settings.JWT_SIGNING_KEY,
        settings.JWT_PRIVATE_KEY_FILE,
        settings.JWT_PUBLIC_KEY_FILE,
        tuple(settings.JWT_PREVIOUS_SIGNING_KEYS),
        tuple(settings.JWT_PREVIOUS_PUBLIC_KEY_FILES),
        settings.JWT_PREVIOUS_KEYS_UNTIL,
    )


def jwks() -> dict:
    """The JWK set to publish: the current public key, and the previous ones
    while their grace period lasts; empty for HMAC (nothing public to share)."""
    if settings.JWT_ALGORITHM.startswith("HS"):
        return {"keys": []}
    backend = token_backend()
    keys = list(backend.verifying_keys.values())
    if backend.previous_keys_active():
        keys += backend.previous_keys.values()
    return {"keys": [public_jwk(key) for key in keys]}
