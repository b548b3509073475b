"""Rate limits and credential-guessing lockout, counted in the shared cache.

Counts live in the cache every process shares (Redis in production), so limits
hold across all web processes. Counting uses `cache.incr` (atomic on Redis and on
the local-memory cache of the tests), or a locked row when the shared cache is the
database (accounts.models.RateCounter), never read-then-write: fifty parallel
attempts cannot all read the same count and slip past the limit.

THROTTLE_RATES=off turns off both the rate limits and the lockout (load tests).
"""

import hashlib
import logging
import math
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.db import DatabaseCache
from django.db import transaction
from django.utils import timezone
from rest_framework.throttling import BaseThrottle

from accounts.errors import ServiceUnavailable, Throttled
from accounts.models import RateCounter

logger = logging.getLogger("accounts.security")

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
    "refresh": "60/min",
    "user": "600/min",
}


@dataclass(frozen=True)
class Rate:
    limit: int
    period: int


def enabled() -> bool:
    return settings.THROTTLE_RATES.strip().lower() != "off"


def rate(scope: str) -> Rate | None:
    if not enabled():
        return None
    rates = dict(DEFAULT_RATES)
    for item in filter(
        None, (part.strip() for part in settings.THROTTLE_RATES.split(","))
    ):
        name, _, value = item.partition("=")
        rates[name.strip()] = value.strip()
    count, _, period = rates[scope].partition("/")
    return Rate(int(count), PERIODS[period])


def _key(*parts: str) -> str:
    # Identifiers (emails, usernames) are hashed: cache keys must not carry PII.
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]
    return f"throttle:{parts[0]}:{digest}"


def _count(key: str, period: int) -> int:
    """Increment a counter that expires with its window; fail closed when the
    cache is down (an outage must not switch the brute-force protection off)."""
    try:
        if _counts_in_database():
            return _count_in_database(key, period)
        cache.add(key, 0, timeout=period)
        try:
            return cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=period)
            return 1
    except Exception as exc:
        logger.error("throttle cache unavailable: %s", type(exc).__name__)
        raise ServiceUnavailable() from exc


def _current(key: str) -> int:
    if _counts_in_database():
        row = RateCounter.objects.filter(key=key, expires_at__gt=timezone.now()).first()
        return row.count if row else 0
    return cache.get(key, 0)


def _forget(key: str) -> None:
    if _counts_in_database():
        RateCounter.objects.filter(key=key).delete()
    else:
        cache.delete(key)


def _counts_in_database() -> bool:
    return isinstance(caches["default"], DatabaseCache)  # `cache` is only a proxy


def _count_in_database(key: str, period: int) -> int:
    """An atomic increment on the database: the row lock (or SQLite's write
    lock) makes parallel attempts take turns instead of reading the same count."""
    now = timezone.now()
    with transaction.atomic():
        row, created = RateCounter.objects.select_for_update().get_or_create(
            key=key,
            defaults={"count": 1, "expires_at": now + timedelta(seconds=period)},
        )
        if created:
            return 1
        if row.expires_at <= now:
            row.count, row.expires_at = 1, now + timedelta(seconds=period)
        else:
            row.count += 1
        row.save(update_fields=["count", "expires_at"])
        return row.count


def hit(scope: str, *subjects: str | None) -> None:
    """Count one request against `scope` for each subject (an IP, an address);
    raise Throttled once any subject is over the limit for this window."""
    limit = rate(scope)
    if limit is None:
        return
    window = int(time.time() // limit.period)
    retry_after = (window + 1) * limit.period - time.time()
    for subject in subjects:
        if not subject:
            continue
        key = _key(scope, str(subject).strip().lower(), str(window))
        if _count(key, limit.period) > limit.limit:
            raise Throttled(retry_after=math.ceil(retry_after))


# ---------------------------------------------------------------------------
# Lockout: per (account identifier, IP), so a victim is never locked out from
# their own network by an attacker guessing from elsewhere.
# ---------------------------------------------------------------------------
def _lockout_key(identifier: str, ip: str | None) -> str:
    return _key("lockout", (identifier or "").strip().lower(), ip or "-")


def check_lockout(identifier: str, ip: str | None) -> None:
    """Refuse while the (identifier, IP) pair is locked, even with the right
    password: otherwise guessing just continues until it succeeds."""
    if not enabled():
        return
    try:
        failures = _current(_lockout_key(identifier, ip))
    except Exception as exc:
        logger.error("lockout cache unavailable: %s", type(exc).__name__)
        raise ServiceUnavailable() from exc
    if failures >= settings.LOCKOUT_THRESHOLD:
        raise Throttled(retry_after=settings.LOCKOUT_WINDOW, locked=True)


def record_failure(identifier: str, ip: str | None) -> None:
    if enabled():
        _count(_lockout_key(identifier, ip), settings.LOCKOUT_WINDOW)


def clear_failures(identifier: str, ip: str | None) -> None:
    if enabled():
        _forget(_lockout_key(identifier, ip))


class UserRateThrottle(BaseThrottle):
    """Authenticated API calls per user per minute: the user's tier rate, else the
    `user` rate of THROTTLE_RATES."""

    def allow_request(self, request, view):
        user = getattr(request, "user", None)
        if not user or not user.is_authenticated:
            return True
        limit = rate("user")
        if limit is None:
            return True
        tier_rate = getattr(user, "api_rate_per_minute", None)
        if tier_rate:
            limit = Rate(tier_rate, 60)
        window = int(time.time() // limit.period)
        self.retry_after = math.ceil((window + 1) * limit.period - time.time())
        return (
            _count(_key("user", str(user.pk), str(window)), limit.period) <= limit.limit
        )

    def wait(self):
        return getattr(self, "retry_after", None)
