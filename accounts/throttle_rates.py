"""THROTTLE_RATES: the default rate of each scope and the one parser of the
setting, read by the throttles at request time and by the system checks at
start-up (so a value the checks accept is a value the throttles can read).

A leaf module: no models, no DRF, nothing of ours.
"""

import re
from dataclasses import dataclass
from functools import lru_cache

PERIODS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hour": 3600,
    "d": 86400,
    "day": 86400,
}
DEFAULT_RATES = {
    "signin": "10/min",
    "signup": "20/hour",
    "password": "5/hour",
    # Recovery emails (reset, verification) one account receives, per kind: caps
    # the flood an attacker can aim at a mailbox without refusing anyone.
    "recovery_email": "3/hour",
    # Emailed sign-in codes asked for by one client address.
    "signin_code": "10/hour",
    # WebAuthn options asked for without a bearer token (passwordless sign-in,
    # second factor), per client address: each one stores a challenge.
    "webauthn": "30/min",
    "refresh": "60/min",
    "link": "30/hour",
    "user": "600/min",
    # Data exports of one account, whichever session asks: each one is a full
    # copy of its history, so a stolen session cannot pull it in a loop.
    "export": "5/hour",
}
OFF = "off"
_COUNT = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class Rate:
    limit: int
    period: int


def is_off(value: str) -> bool:
    return value.strip().lower() == OFF


@lru_cache(maxsize=16)
def parse(value: str) -> dict[str, Rate]:
    """Every scope's rate: the defaults, overridden by `value`
    ("scope=N/period,...", period s, min, hour or day). Raises ValueError
    naming the first item it cannot read."""
    texts = dict(DEFAULT_RATES)
    for item in filter(None, (part.strip() for part in value.split(","))):
        scope, _, text = item.partition("=")
        if not scope.strip():
            raise ValueError(item)
        texts[scope.strip()] = text.strip()
        try:
            _rate(texts[scope.strip()])
        except ValueError:
            raise ValueError(item) from None
    return {scope: _rate(text) for scope, text in texts.items()}


def _rate(text: str) -> Rate:
    count, _, period = text.partition("/")
    count, period = count.strip(), period.strip()
    # ASCII digits only: str.isdigit() also takes "²", which int() refuses.
    if not _COUNT.fullmatch(count) or int(count) <= 0 or period not in PERIODS:
        raise ValueError(text)
    return Rate(int(count), PERIODS[period])
