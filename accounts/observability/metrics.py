"""Prometheus metrics and the /metrics view.

Requests by view and status, security events by name (a logging handler on
`accounts.security`, so the services stay unaware of metrics), email outcomes
(counted in the shared cache: the task worker is another process, often on
another machine), queue depth and age (read from the task table when scraped).

Nothing here may import models at module level: settings' LOGGING names the
handler below while Django is still starting.
"""

import hmac
import ipaddress
import logging
import os
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse, HttpResponseNotFound
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
from accounts.observability.health import email_queue_stats

logger = logging.getLogger(__name__)
access_log = logging.getLogger("accounts.access")

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


class EmailOutcomeMetricsHandler(logging.Handler):
    """Counts the records of `accounts.email_outcomes` (one per email the task
    worker sends, retries, fails or skips) by their `email_outcome` extra, so
    the task need not know metrics."""

    def emit(self, record: logging.LogRecord) -> None:
        outcome = getattr(record, "email_outcome", None)
        if outcome in EMAIL_OUTCOMES:
            count_email(outcome)


def count_queued_email(sender, task_result, **kwargs) -> None:
    """task_enqueued receiver (connected in AccountsConfig.ready)."""
    # Retries are enqueued too; the task counts those as "retried".
    if (
        task_result.task.module_path == EMAIL_TASK_PATH
        and task_result.kwargs.get("attempt", 1) == 1
    ):
        count_email("queued")


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
