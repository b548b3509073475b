"""Secrets that must be read back (TOTP seeds) are stored encrypted.

MultiFernet over MFA_ENCRYPTION_KEYS: the first key encrypts, every key decrypts,
so a key is rotated by putting a new one first and running
`manage.py rotate_mfa_keys` before the old one is dropped. Without configured
keys one key is derived from SECRET_KEY, which keeps development simple but
ties the secrets to SECRET_KEY: production sets keys of their own.
"""

import base64
import functools

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

__all__ = ["InvalidToken", "decrypt", "encrypt", "rotate"]


def derived_key(secret: str) -> bytes:
    """A Fernet key derived from SECRET_KEY for this one purpose (HKDF), so the
    secret itself never doubles as an encryption key."""
    raw = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"identity mfa secrets"
    ).derive(secret.encode())
    return base64.urlsafe_b64encode(raw)


@functools.cache
def _fernet(keys: tuple[str, ...], secret: str) -> MultiFernet:
    material = [key.encode() for key in keys] or [derived_key(secret)]
    return MultiFernet([Fernet(key) for key in material])


def _current() -> MultiFernet:
    # Keyed on the settings' values, so tests that override them get theirs.
    return _fernet(tuple(settings.MFA_ENCRYPTION_KEYS), settings.SECRET_KEY)


def encrypt(text: str) -> str:
    return _current().encrypt(text.encode()).decode()


def decrypt(token: str) -> str:
    """Raises InvalidToken when no configured key opens it."""
    return _current().decrypt(token.encode()).decode()


def rotate(token: str) -> str:
    """The same secret encrypted under the newest key."""
    return _current().rotate(token.encode()).decode()
