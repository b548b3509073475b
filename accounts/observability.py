"""What operators see of the running service: logs, request ids, metrics, readiness.

- Every log record gets the request id, client address and user id of the request
  being served (a contextvar read by RequestContextFilter) and is written as one
  JSON object per line (JsonFormatter; production) or as a text line
  (TextFormatter; development). Both formatters redact secrets as a safety net:
  the code must not log them in the first place.
- RequestIdMiddleware accepts or makes the X-Request-ID and echoes it;
  RequestMetricsMiddleware times each request and writes one access line.
- Prometheus metrics: requests by view and status, security events by name (a
  logging handler on `accounts.security`, so services.py stays unaware of
  metrics), email outcomes (counted in the shared cache: the task worker is
  another process, often on another machine), queue depth and age (read from the
  task table when scraped). `metrics_view` serves them at /metrics.

Nothing here may import models at module level: settings' LOGGING imports this
module while Django is still starting.
"""

import hmac
import ipaddress
import json
import logging
import os
import re
import time
import uuid
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse, HttpResponseNotFound
from django.utils import timezone
from django.utils.functional import SimpleLazyObject, empty
from django_tasks.signals import task_enqueued
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from accounts.http import client_ip

logger = logging.getLogger(__name__)
access_log = logging.getLogger("accounts.access")

# ---------------------------------------------------------------------------
# Request context
# ---------------------------------------------------------------------------
REQUEST_ID_HEADER = "X-Request-ID"
# A client's id is kept only when short and plain: it is echoed in a response
# header and written into every log line (header splitting, log injection).
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")


@dataclass(frozen=True)
class _RequestContext:
    request_id: str
    client_ip: str | None
    request: object


_context: ContextVar[_RequestContext | None] = ContextVar(
    "identity_request_context", default=None
)


def current_request_id() -> str | None:
    context = _context.get()
    return context.request_id if context else None


def _user_id(request) -> str | None:
    # Only a user already loaded: a log call must never query the database (it
    # could recurse through the database's own logging, and costs a query).
    user = request.__dict__.get("user")
    if isinstance(user, SimpleLazyObject):
        user = user._wrapped
        if user is empty:
            return None
    if user is not None and getattr(user, "is_authenticated", False):
        return str(user.pk)
    return None


class RequestContextFilter(logging.Filter):
    """Adds request_id, client_ip and (once known) user_id to every record logged
    while a request is served; values a record already carries win."""

    def filter(self, record: logging.LogRecord) -> bool:
        # Django logs 4xx/5xx responses ("django.request") after the middleware
        # has returned; those records carry the request itself.
        context = _context.get() or getattr(
            getattr(record, "request", None), "observability_context", None
        )
        if context is None:
            return True
        if getattr(record, "request_id", None) is None:
            record.request_id = context.request_id
        if getattr(record, "client_ip", None) is None:
            record.client_ip = context.client_ip
        if getattr(record, "user_id", None) is None:
            record.user_id = _user_id(context.request)
        return True


class RequestIdMiddleware:
    """Gives each request an id (the caller's X-Request-ID when sane, else a new
    one), makes it and the client address available to log records, and echoes
    the id in the response, so a user's report, a proxy's log and ours meet.

    Goes first in MIDDLEWARE, so every later line of the request carries the id.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        supplied = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = (
            supplied if SANE_REQUEST_ID.fullmatch(supplied) else uuid.uuid4().hex
        )
        request.request_id = request_id
        context = _RequestContext(request_id, client_ip(request), request)
        request.observability_context = context
        token = _context.set(context)
        try:
            response = self.get_response(request)
        finally:
            _context.reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response


# ---------------------------------------------------------------------------
# Redaction (a safety net: the code should not log secrets in the first place)
# ---------------------------------------------------------------------------
REDACTED = "[redacted]"
SENSITIVE_KEY = re.compile(
    r"pass(word|wd)|secret|token|authorization|cookie|credential|api_?key|signature",
    re.IGNORECASE,
)
_SECRET_PATTERNS = (
    # A JWT (header and payload are base64 JSON, so both start with eyJ).
    (re.compile(r"eyJ[A-Za-z0-9_-]*\.eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*"), REDACTED),
    # A reset or verification link's uid and token, on our pages or an SPA's.
    (
        re.compile(
            r"(/(?:reset|reset-password|verify-email)/)[^/\s?#\"']+/[^\s?#\"']+"
        ),
        r"\1" + REDACTED,
    ),
    # A password hash in any of the formats Django stores.
    (
        re.compile(
            r"\b(?:argon2|pbkdf2_sha256|pbkdf2_sha1|bcrypt_sha256|bcrypt|scrypt|"
            r"md5|sha1)\$[^\s\"']+"
        ),
        REDACTED,
    ),
    # An Authorization header's credentials.
    (re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 " + REDACTED),
    # key=value or "key": "value" where the key names a secret.
    (
        re.compile(
            r"(?i)([\w-]*(?:password|passwd|secret|token|authorization)[\w-]*"
            r"[\"']?\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s,&;]+)"
        ),
        r"\1" + REDACTED,
    ),
)


def redact_text(text: str) -> str:
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact(value, key: str = ""):
    """The value with secrets masked: whole values under a secret-sounding key,
    and secret-shaped substrings (JWTs, reset links, hashes) anywhere."""
    if key and SENSITIVE_KEY.search(key) and value not in (None, ""):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dict):
        return {str(k): redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(item) for item in value]
    return redact_text(str(value))


# ---------------------------------------------------------------------------
# Formatters
# ---------------------------------------------------------------------------
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "taskName",
    # Django's request loggers attach the request object; the access line
    # already says what it was.
    "request",
}
_CONTEXT_FIELDS = ("request_id", "user_id", "client_ip")
# Every character that could end a line or rewrite a terminal (log injection).
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _extras(record: logging.LogRecord) -> dict:
    return {
        name: value
        for name, value in record.__dict__.items()
        if name not in _RECORD_ATTRIBUTES
        and name not in _CONTEXT_FIELDS
        and not name.startswith("_")
    }


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp (ISO-8601 UTC), level, logger, message,
    request_id, then user_id and client_ip when known, then the record's extras
    (`event` and its details for security events), exception last.

    JSON escapes every newline in a value, so a client-chosen string (a path, a
    username) cannot forge a line of its own (log injection).
    """

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "timestamp": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for name in ("user_id", "client_ip"):
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        entry.update(_extras(record))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(redact(entry), default=str)


class TextFormatter(logging.Formatter):
    """For people (DEBUG on): `time level logger [request id] message key=value`."""

    def format(self, record: logging.LogRecord) -> str:
        message = _CONTROL.sub(
            lambda m: m.group().encode("unicode_escape").decode(), record.getMessage()
        )
        fields = {
            name: getattr(record, name, None) for name in ("user_id", "client_ip")
        }
        fields.update(_extras(record))
        details = " ".join(
            f"{name}={_CONTROL.sub('?', str(value))}"
            for name, value in redact(fields).items()
            if value is not None
        )
        line = (
            f"{_timestamp(record)} {record.levelname} {record.name} "
            f"[{getattr(record, 'request_id', None) or '-'}] {redact_text(message)}"
        )
        if details:
            line += f" {details}"
        if record.exc_info:
            line += "\n" + redact_text(self.formatException(record.exc_info))
        if record.stack_info:
            line += "\n" + redact_text(self.formatStack(record.stack_info))
        return line


# ---------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------
# Under gunicorn each worker process counts on its own; with
# PROMETHEUS_MULTIPROC_DIR set (gunicorn.conf.py does) the counts go to files
# there and /metrics adds up every worker's, whichever worker answers the scrape.
HTTP_REQUESTS = Counter(
    "identity_http_requests",
    "HTTP requests answered, by view name, method and status.",
    ["view", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "identity_http_request_duration_seconds",
    "Time to answer an HTTP request, by view name and method.",
    ["view", "method"],
)
SECURITY_EVENTS = Counter(
    "identity_security_events",
    "Security events logged on accounts.security, by event (signin_succeeded, "
    "signin_failed, signin_locked, token_reuse, password_changed, ...).",
    ["event"],
)
# Label values come from a fixed set: a client choosing a method or a path must
# not be able to mint new time series (memory exhaustion of the scraper).
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED_VIEW = "unmatched"


class RequestMetricsMiddleware:
    """Counts and times every request by view name and status, and writes one
    access line per request (method, path, status, duration; never the query
    string, which may carry a token). Goes right after RequestIdMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - started
        match = getattr(request, "resolver_match", None)
        view = match.view_name if match and match.view_name else UNMATCHED_VIEW
        method = request.method if request.method in METHODS else "other"
        HTTP_REQUESTS.labels(view, method, str(response.status_code)).inc()
        HTTP_LATENCY.labels(view, method).observe(elapsed)
        access_log.info(
            "%s %s %s",
            method,
            request.path,
            response.status_code,
            extra={
                "method": method,
                "path": request.path,
                "status": response.status_code,
                "view": view,
                "duration_ms": round(elapsed * 1000, 1),
            },
        )
        return response


class SecurityEventMetricsHandler(logging.Handler):
    """Counts the records of `accounts.security` by their `event` extra, so the
    services that record sign-ins, failures and lockouts need not know metrics."""

    def emit(self, record: logging.LogRecord) -> None:
        event = getattr(record, "event", None)
        if event:
            SECURITY_EVENTS.labels(str(event)).inc()


# Email outcomes are counted in the shared cache, not in process memory: the
# worker that sends is not the web process that is scraped (often not even on
# the same machine). A cache flush restarts the counts, which Prometheus reads
# as a counter reset.
EMAIL_OUTCOMES = ("queued", "sent", "retried", "failed", "skipped")
EMAIL_TASK_PATH = "accounts.tasks.send_account_email"


def _email_counter_key(outcome: str) -> str:
    return f"metrics:emails:{outcome}"


def count_email(outcome: str) -> None:
    """Add one to the shared count of emails with this outcome."""
    key = _email_counter_key(outcome)
    try:
        cache.add(key, 0, timeout=None)
        cache.incr(key)
    except Exception as exc:  # a cache outage loses a count, never an email
        logger.warning("email counter %s not updated: %s", outcome, type(exc).__name__)


def _count_queued_email(sender, task_result, **kwargs) -> None:
    # Retries are enqueued too; the task counts those as "retried".
    if (
        task_result.task.module_path == EMAIL_TASK_PATH
        and task_result.kwargs.get("attempt", 1) == 1
    ):
        count_email("queued")


task_enqueued.connect(_count_queued_email, dispatch_uid="accounts.observability")


def email_queue_stats() -> tuple[int, int]:
    """The number of READY tasks in the queue (due now or waiting for a retry),
    and how many seconds the oldest due one has waited (0 when none has)."""
    from django.db.models import Count, Min, Q
    from django_tasks_db.compat import TaskResultStatus
    from django_tasks_db.models import DBTaskResult, get_date_max

    now = timezone.now()
    stats = DBTaskResult.objects.filter(status=TaskResultStatus.READY).aggregate(
        depth=Count("pk"),
        # A task without run_after is due from the moment it was enqueued,
        # a retry from its run_after.
        enqueued=Min("enqueued_at", filter=Q(run_after=get_date_max())),
        scheduled=Min("run_after", filter=Q(run_after__lte=now)),
    )
    due_since = min(
        (moment for moment in (stats["enqueued"], stats["scheduled"]) if moment),
        default=None,
    )
    oldest = max(0, int((now - due_since).total_seconds())) if due_since else 0
    return stats["depth"], oldest


class _SharedStateCollector:
    """Metrics read at scrape time from the state every process shares."""

    def describe(self):
        return []

    def collect(self):
        try:
            counts = cache.get_many([_email_counter_key(o) for o in EMAIL_OUTCOMES])
        except Exception as exc:
            logger.warning("email counters unavailable: %s", type(exc).__name__)
        else:
            emails = CounterMetricFamily(
                "identity_emails",
                "Account emails by outcome: queued by a request, sent, retried "
                "after a temporary failure, failed for good, skipped.",
                labels=["outcome"],
            )
            for outcome in EMAIL_OUTCOMES:
                emails.add_metric([outcome], counts.get(_email_counter_key(outcome), 0))
            yield emails
        try:
            depth, oldest = email_queue_stats()
        except Exception as exc:
            logger.warning("email queue unavailable: %s", type(exc).__name__)
            return
        yield GaugeMetricFamily(
            "identity_email_queue_depth",
            "Tasks waiting in the email queue (READY), due or scheduled for a retry.",
            value=depth,
        )
        yield GaugeMetricFamily(
            "identity_email_queue_oldest_pending_seconds",
            "Seconds the oldest due email task has waited for a worker.",
            value=oldest,
        )


_shared_state = CollectorRegistry(auto_describe=False)
_shared_state.register(_SharedStateCollector())


def _process_metrics() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def _allowed_networks(value: str) -> list:
    return [
        ipaddress.ip_network(item.strip(), strict=False)
        for item in value.split(",")
        if item.strip()
    ]


def metrics_view(request):
    """Prometheus metrics, for a scraper holding METRICS_TOKEN (a bearer token)
    and/or calling from METRICS_ALLOWED_IPS; 404 when neither is configured.

    Request counts and security events map traffic and attacks in progress, so
    they are not public (metrics scraping): both guards must pass when both are
    set, and the token is compared in constant time (timing).
    """
    token = settings.METRICS_TOKEN
    networks = _allowed_networks(settings.METRICS_ALLOWED_IPS)
    if not token and not networks:
        return HttpResponseNotFound()
    if networks:
        address = client_ip(request)
        if address is None or not any(
            ipaddress.ip_address(address) in network for network in networks
        ):
            return HttpResponse("Forbidden\n", status=403, content_type="text/plain")
    if token:
        scheme, _, supplied = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            supplied.strip().encode(), token.encode()
        ):
            response = HttpResponse(
                "Unauthorized\n", status=401, content_type="text/plain"
            )
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
    body = _process_metrics() + generate_latest(_shared_state)
    response = HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response


# ---------------------------------------------------------------------------
# Readiness
# ---------------------------------------------------------------------------
READINESS_PARTS = ("database", "cache", "email_queue")


def _database_answers() -> bool:
    try:
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return False
    return True


def _cache_answers(*, write: bool) -> bool:
    try:
        if write:
            # Throttles and lockout need writes: a read-only replica fails here.
            cache.set("health-ready-probe", "1", timeout=10)
        cache.get("health-ready-probe")
    except Exception:
        return False
    return True


def _state(ok: bool) -> str:
    return "ok" if ok else "unavailable"


def liveness() -> dict:
    """The cheap check: the database and the cache answer a read."""
    body = {
        "status": "ok",
        "database": _state(_database_answers()),
        "cache": _state(_cache_answers(write=False)),
    }
    if "unavailable" in body.values():
        body["status"] = "unavailable"
    return body


def readiness() -> dict:
    """Whether this process can do its work: the database and the cache answer,
    and the email queue moves (its oldest due task is younger than
    EMAIL_QUEUE_MAX_AGE; an older one means no worker is sending)."""
    body = {
        "status": "ok",
        "database": _state(_database_answers()),
        "cache": _state(_cache_answers(write=True)),
        "email_queue": "ok",
        "oldest_pending_seconds": None,
    }
    if body["database"] != "ok":
        body["email_queue"] = "unavailable"
    else:
        try:
            _, oldest = email_queue_stats()
        except Exception:
            body["email_queue"] = "unavailable"
        else:
            body["oldest_pending_seconds"] = oldest
            if oldest > settings.EMAIL_QUEUE_MAX_AGE:
                body["email_queue"] = "stalled"
    if any(body[part] != "ok" for part in READINESS_PARTS):
        body["status"] = "unavailable"
    return body
