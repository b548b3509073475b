"""Codes people type: recovery codes and emailed sign-in codes.

One alphabet without look-alike characters (no 0/O, no 1/I/L), compared
ignoring case, spaces and dashes. Only keyed digests are stored (a database
leak yields no usable code), and digests are compared in constant time.
"""

import hashlib
import hmac
import secrets

from django.conf import settings

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
RECOVERY_CODE_LENGTH = 10
RECOVERY_CODE_COUNT = 10
EMAILED_CODE_LENGTH = 6


def random_code(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def normalize(text: str) -> str:
    """What a person typed, in the stored form: upper case, no spaces or dashes."""
    if not isinstance(text, str):
        return ""
    return "".join(text.split()).replace("-", "").upper()


def display(code: str) -> str:
    """A recovery code as shown: two groups of five (XXXXX-XXXXX)."""
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}"


def digest(code: str, *, purpose: str, subject: str) -> str:
    """A keyed digest bound to what the code is for and whose it is, so a digest
    copied from one row cannot be replayed against another."""
    key = hashlib.sha256(f"identity codes|{settings.SECRET_KEY}".encode()).digest()
    message = f"{purpose}|{subject}|{normalize(code)}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def matches(code: str, stored_digest: str, *, purpose: str, subject: str) -> bool:
    return hmac.compare_digest(
        digest(code, purpose=purpose, subject=subject), stored_digest
    )
