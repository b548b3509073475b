"""Rate limits and credential-guessing lockout, counted in the shared cache.

Counts live in the cache every process shares (Redis in production), so limits
hold across all web processes. Counting uses `cache.incr` (atomic on Redis and on
the local-memory cache of the tests), or a locked row when the shared cache is the
database (accounts.models.RateCounter), never read-then-write: fifty parallel
attempts cannot all read the same count and slip past the limit.

Three kinds of key, never the text a client typed: the client's network (an
IPv6 /64, an IPv4 address, or one shared bucket when the address is unknown),
the resolved account (whatever spelling reached it), and the pair of both.

THROTTLE_RATES=off turns off the rate limits, the lockout and the per-account
slowdown (load tests); the per-session rule for wrong current passwords stays.
"""

import hashlib
import ipaddress
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

from accounts import throttle_rates
from accounts.errors import ServiceUnavailable, Throttled
from accounts.models import RateCounter
from accounts.throttle_rates import Rate

logger = logging.getLogger("accounts.security")

# A request whose address is unknown (a unix socket, an unparsable forwarded
# hop) counts here: skipping it would let such requests guess without limit.
UNKNOWN_ADDRESS = "unknown-address"

# Per-account failure buckets, one per kind of secret, so that failures of one
# kind never slow down another (a passkey or an emailed code stays usable while
# passwords are being guessed).
PASSWORD_FAILURES = "password"
SECOND_FACTOR_FAILURES = "second_factor"
SIGNIN_CODE_FAILURES = "signin_code"


@dataclass(frozen=True)
class Slowdown:
    """The per-account slowdown of one kind of failure: after `after` failures
    within `window` seconds, one attempt per delay; the delay starts at
    `first_delay` and doubles with each further failure up to `max_delay`. A
    quiet `window` after the last delay forgets the streak."""

    after: int
    window: int
    first_delay: int
    max_delay: int

    def delay(self, failures: int) -> int:
        return min(self.max_delay, self.first_delay * 2 ** (failures - self.after))


SLOWDOWNS = {
    PASSWORD_FAILURES: Slowdown(
        after=10, window=15 * 60, first_delay=60, max_delay=15 * 60
    ),
    # A six-digit code is guessed far faster than a password: five wrong
    # answers in five minutes, across every mfa_token, session and door, and
    # the account waits five minutes, then ten, then fifteen.
    SECOND_FACTOR_FAILURES: Slowdown(
        after=5, window=5 * 60, first_delay=5 * 60, max_delay=15 * 60
    ),
    # Wrong emailed sign-in codes, across every code_token of the account:
    # five in fifteen minutes and code sign-in waits fifteen minutes.
    SIGNIN_CODE_FAILURES: Slowdown(
        after=5, window=15 * 60, first_delay=15 * 60, max_delay=60 * 60
    ),
}

# Wrong current passwords per session (change-password, delete-account): the
# session is revoked at this count. On even with THROTTLE_RATES=off, since
# it guards a stolen session rather than the service's capacity.
SESSION_PASSWORD_LIMIT = 5
# Long enough to outlive any session: the count is never reset by waiting.
SESSION_FAILURE_MEMORY = 90 * 86400


def enabled() -> bool:
    return not throttle_rates.is_off(settings.THROTTLE_RATES)


def rate(scope: str) -> Rate | None:
    """The scope's rate (THROTTLE_RATES over the defaults), None when off."""
    if not enabled():
        return None
    return throttle_rates.parse(settings.THROTTLE_RATES)[scope]


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


def network(ip: str | None) -> str:
    """The bucket of a client address: IPv6 by /64 (one customer's allocation:
    an attacker owns every /128 in it), IPv4 as is, unknown in one bucket."""
    try:
        address = ipaddress.ip_address(ip) if ip else None
    except ValueError:
        address = None
    if address is None:
        return UNKNOWN_ADDRESS
    if address.version == 6 and address.ipv4_mapped:
        return str(address.ipv4_mapped)
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _subject(subject) -> str:
    text = str(subject).strip().lower()
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return text
    return network(text)


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


def _extend(key: str, seconds: int) -> None:
    """Keep a counter alive `seconds` from now (a streak still going on)."""
    if _counts_in_database():
        RateCounter.objects.filter(key=key).update(
            expires_at=timezone.now() + timedelta(seconds=seconds)
        )
    else:
        cache.touch(key, seconds)


def _hold(key: str, seconds: int) -> None:
    """Remember a deadline `seconds` from now."""
    if _counts_in_database():
        RateCounter.objects.update_or_create(
            key=key,
            defaults={
                "count": 0,
                "expires_at": timezone.now() + timedelta(seconds=seconds),
            },
        )
    else:
        cache.set(key, time.time() + seconds, timeout=seconds)


def _remaining(key: str) -> float:
    """Seconds until a deadline set by _hold passes (0 when it has)."""
    if _counts_in_database():
        row = RateCounter.objects.filter(key=key).first()
        left = (row.expires_at - timezone.now()).total_seconds() if row else 0
    else:
        deadline = cache.get(key)
        left = deadline - time.time() if deadline else 0
    return max(0.0, left)


def hit(scope: str, *subjects: str | None) -> None:
    """Count one request against `scope` for each subject (a client address, an
    email address); raise Throttled once any subject is over the limit for this
    window. Client addresses count by network; None stands for an unknown
    client address and counts in the one shared bucket."""
    limit = rate(scope)
    if limit is None:
        return
    window = int(time.time() // limit.period)
    retry_after = (window + 1) * limit.period - time.time()
    for subject in subjects:
        if subject is None:
            name = UNKNOWN_ADDRESS
        elif not str(subject).strip():
            continue
        else:
            name = _subject(subject)
        key = _key(scope, name, str(window))
        if _count(key, limit.period) > limit.limit:
            raise Throttled(retry_after=math.ceil(retry_after))


# ---------------------------------------------------------------------------
# Lockout: per (account, network), so a victim is never locked out from their
# own network by an attacker guessing from elsewhere. `account` is the key of
# the resolved account (see services.signin), never the typed identifier.
# ---------------------------------------------------------------------------
def _lockout_key(account: str, ip: str | None) -> str:
    return _key("lockout", account, network(ip))


def check_lockout(account: str, ip: str | None) -> None:
    """Refuse while the (account, network) pair is locked, even with the right
    password: otherwise guessing just continues until it succeeds."""
    if not enabled():
        return
    try:
        failures = _current(_lockout_key(account, ip))
    except Exception as exc:
        logger.error("lockout cache unavailable: %s", type(exc).__name__)
        raise ServiceUnavailable() from exc
    if failures >= settings.LOCKOUT_THRESHOLD:
        raise Throttled(retry_after=settings.LOCKOUT_WINDOW, locked=True)


def record_failure(account: str, ip: str | None) -> None:
    if enabled():
        _count(_lockout_key(account, ip), settings.LOCKOUT_WINDOW)


def clear_failures(account: str, ip: str | None) -> None:
    if enabled():
        _forget(_lockout_key(account, ip))


# ---------------------------------------------------------------------------
# Per-account slowdown: failures of one kind against one account, from every
# address. It slows guessing down and never locks: counting every attempt (or
# locking) would let anyone keep the owner out with a few wrong guesses a
# minute. The owner's own browser (its device cookie) is exempted by the caller.
# ---------------------------------------------------------------------------
def check_slowdown(kind: str, account: str) -> None:
    """Refuse while the account is slowed down for `kind`; once the delay has
    passed, let exactly one attempt through (parallel requests cannot all
    slip into the gap)."""
    if not enabled():
        return
    policy = SLOWDOWNS[kind]
    try:
        failures = _current(_key("failures", kind, account))
        if failures < policy.after:
            return
        wait = _remaining(_key("slowed", kind, account))
        if (
            wait <= 0
            and _count(
                _key("attempt", kind, account, str(failures)), policy.delay(failures)
            )
            == 1
        ):
            return
    except Exception as exc:
        logger.error("slowdown cache unavailable: %s", type(exc).__name__)
        raise ServiceUnavailable() from exc
    raise Throttled(retry_after=math.ceil(wait) if wait > 0 else policy.delay(failures))


def check_slowed(kind: str, account: str) -> None:
    """Refuse while the account is inside a delay for `kind`, without using up
    the one attempt a passed delay lets through (for a step that only leads to
    the attempt, such as the password before a second factor)."""
    if not enabled():
        return
    try:
        wait = _remaining(_key("slowed", kind, account))
    except Exception as exc:
        logger.error("slowdown cache unavailable: %s", type(exc).__name__)
        raise ServiceUnavailable() from exc
    if wait > 0:
        raise Throttled(retry_after=math.ceil(wait))


def record_slowdown_failure(kind: str, account: str) -> None:
    """Count one failure of `kind` against the account; from the policy's
    `after`th on, the next attempt waits a delay that doubles with each one."""
    if not enabled():
        return
    policy = SLOWDOWNS[kind]
    key = _key("failures", kind, account)
    failures = _count(key, policy.window)
    if failures >= policy.after:
        delay = policy.delay(failures)
        _extend(key, delay + policy.window)
        _hold(_key("slowed", kind, account), delay)


def clear_slowdown(kind: str, account: str) -> None:
    """Forget the account's streak of `kind` failures (after a success)."""
    if enabled():
        _forget(_key("failures", kind, account))


# ---------------------------------------------------------------------------
# Wrong current passwords per session. Not counted against the account's
# sign-in limits: a thief holding a session must not lock the owner out.
# ---------------------------------------------------------------------------
def session_failures(session: str) -> int:
    """How many wrong current passwords the session has given so far."""
    try:
        return _current(_key("session-password", session))
    except Exception as exc:
        logger.error("session counter cache unavailable: %s", type(exc).__name__)
        raise ServiceUnavailable() from exc


def record_session_failure(session: str) -> int:
    """Count one wrong current password for the session; returns the count."""
    return _count(_key("session-password", session), SESSION_FAILURE_MEMORY)


def count_api_call(*, user_id: str, tier_rate: int | None) -> int | None:
    """Count one authenticated API call of the user, per minute at the tier's
    rate or else the `user` rate; returns the seconds to wait when over the
    limit, None when the call may go ahead."""
    limit = rate("user")
    if limit is None:
        return None
    if tier_rate:
        limit = Rate(tier_rate, 60)
    window = int(time.time() // limit.period)
    retry_after = math.ceil((window + 1) * limit.period - time.time())
    if _count(_key("user", user_id, str(window)), limit.period) <= limit.limit:
        return None
    return retry_after
