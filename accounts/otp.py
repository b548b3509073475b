"""Time-based one-time passwords (RFC 6238) for authenticator apps.

pyotp does the arithmetic; this module holds our choices: 30-second steps, six
digits, SHA-1 (what every authenticator app supports), one step of drift either
way, and each step accepted once (the caller stores the last step used).
"""

import io
import time

import pyotp
import segno

DIGITS = 6
INTERVAL = 30
DRIFT_STEPS = 1


def new_secret() -> str:
    """A random base32 secret of 160 bits (RFC 4226's recommended length)."""
    return pyotp.random_base32(length=32)


def provisioning_uri(secret: str, *, account: str, issuer: str) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL).provisioning_uri(
        name=account, issuer_name=issuer
    )


def qr_svg(uri: str) -> str:
    """The URI as an inline SVG QR code: drawn here, so the secret never reaches
    an image service and the page needs no script."""
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(
        buffer, kind="svg", xmldecl=False, svgns=True, scale=4, border=2
    )
    return buffer.getvalue().decode()


def matching_step(
    secret: str, code: str, *, last_step: int | None, now: float | None = None
) -> int | None:
    """The time step whose code this is, within the allowed drift and later than
    `last_step` (so a code, once used, never works again); None otherwise."""
    if not isinstance(code, str):
        return None
    code = code.strip()
    if len(code) != DIGITS or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL)
    current = totp.timecode(now if now is not None else time.time())
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if last_step is not None and step <= last_step:
            continue
        # pyotp compares in constant time.
        if pyotp.utils.strings_equal(code, totp.generate_otp(step)):
            return step
    return None
