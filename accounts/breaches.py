"""Whether a password appears in a breach corpus (the Pwned Passwords range API).

k-anonymity: only the first 5 hex digits of the password's SHA-1 leave the
process; the service answers with every known suffix under that prefix and the
comparison happens here. Responses are padded (`Add-Padding`) so their size does
not reveal the prefix either; padding lines carry a count of 0.

Fail-open: if the service is down, slow or answers nonsense, the password is
accepted unchecked and a warning is logged, so an outage elsewhere never stops
sign-ups or resets. Nothing about the password (not even the prefix) is logged.
"""

import hashlib
import http.client
import logging
import urllib.error
import urllib.request

from django.conf import settings

log = logging.getLogger("accounts.security")

# A padded answer is ~800-1,000 lines of ~40 bytes; anything far larger is not
# the range API, and reading it whole would let a hostile endpoint exhaust memory.
MAX_RESPONSE_BYTES = 1_000_000


def is_breached(password: str) -> bool:
    """True if the range API lists the password; False if not or if unknown."""
    digest = (
        hashlib.sha1(password.encode("utf-8"), usedforsecurity=False)
        .hexdigest()
        .upper()
    )
    prefix, suffix = digest[:5], digest[5:]
    try:
        body = _fetch_range(prefix)
    # URLError, timeouts and HTTP errors are OSErrors; broken answers are not.
    except (OSError, ValueError, http.client.HTTPException) as exc:
        log.warning(
            "breached-password check unavailable (%s); password accepted unchecked",
            type(exc).__name__,
            extra={"event": "breach_check_unavailable"},
        )
        return False
    for line in body.splitlines():
        candidate, _, count = line.partition(":")
        if candidate.strip().upper() == suffix:
            # Padding entries are random suffixes with a count of 0.
            return count.strip().isdigit() and int(count) > 0
    return False


def _fetch_range(prefix: str) -> str:
    request = urllib.request.Request(  # noqa: S310 - scheme checked at start-up
        settings.PASSWORD_BREACH_CHECK_URL + prefix,
        headers={"Add-Padding": "true", "User-Agent": "identity-service"},
    )
    with urllib.request.urlopen(  # noqa: S310 - http(s) only, see accounts.checks
        request, timeout=settings.PASSWORD_BREACH_CHECK_TIMEOUT
    ) as response:
        body = response.read(MAX_RESPONSE_BYTES + 1)
    if len(body) > MAX_RESPONSE_BYTES:
        raise ValueError("range answer too large")
    return body.decode("ascii")
