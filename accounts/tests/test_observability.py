"""Logs (JSON lines, request ids, redaction), /metrics and the readiness probe."""

import io
import json
import logging
import re
from datetime import timedelta

import pytest
import time_machine
from django.core.checks import run_checks
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from accounts import emails
from accounts.checks import TAG
from accounts.models import User
from accounts.observability.logs import (
    JsonFormatter,
    RequestContextFilter,
    TextFormatter,
    redact,
)
from accounts.tasks import send_account_email
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import (
    ME,
    METRICS,
    READY,
    SIGNIN,
    UNREACHABLE_REDIS,
    attempt_sign_in,
    emailed_link,
    redis_cache,
)
from identity_site import settings as settings_module

pytestmark = pytest.mark.django_db

METRICS_TOKEN = "scrape-token-0123456789abcdef"
DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


class Capture(logging.Handler):
    """Keeps every record, as log storage would receive it."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def json_lines():
    """What the production console handler writes, as parsed lines."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestContextFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)

    def lines() -> list[dict]:
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    yield lines
    root.removeHandler(handler)
    root.setLevel(level)


def failed_sign_in(api_client, **headers):
    return attempt_sign_in(
        "nobody@example.com", "not the password", client=api_client, **headers
    )


# ---------------------------------------------------------------------------
# Log format
# ---------------------------------------------------------------------------
def test_json_log_is_one_object_per_line_with_the_contract_fields(
    api_client, json_lines
):
    response = failed_sign_in(api_client)

    lines = json_lines()
    (event,) = [line for line in lines if line.get("event") == "signin_failed"]
    assert ISO_UTC.fullmatch(event["timestamp"])
    assert event["level"] == "INFO"
    assert event["logger"] == "accounts.security"
    assert event["message"] == "signin_failed"
    assert event["request_id"] == response["X-Request-ID"]
    assert event["client_ip"] == "127.0.0.1"
    assert len(event["identifier_hash"]) == 16
    (access,) = [line for line in lines if line["logger"] == "accounts.access"]
    assert access["message"] == "POST /api/v1/auth/signin 401"
    assert access["view"] == "api:signin"
    assert access["status"] == 401
    assert access["request_id"] == response["X-Request-ID"]


def test_json_log_keeps_a_multiline_message_on_one_line():
    record = logging.makeLogRecord(
        {"name": "x", "levelname": "WARNING", "msg": 'forged\n{"level": "INFO"}'}
    )

    output = JsonFormatter().format(record)

    assert "\n" not in output
    assert json.loads(output)["message"] == 'forged\n{"level": "INFO"}'


def test_text_log_escapes_line_breaks_a_client_could_inject():
    record = logging.makeLogRecord(
        {"name": "x", "levelname": "INFO", "msg": "GET /a\n2030-01-01 INFO forged"}
    )

    output = TextFormatter().format(record)

    assert "\n" not in output
    assert "/a\\n2030" in output


def test_text_is_the_development_format_and_json_the_production_one():
    assert settings_module.LOGGING["formatters"]["json"]["()"].endswith("JsonFormatter")
    assert settings_module.LOGGING["handlers"]["console"]["formatter"] == (
        "text" if settings_module.DEBUG else "json"
    )


def test_user_id_is_in_the_log_line_of_an_authenticated_request(
    auth_api_client, user, json_lines
):
    auth_api_client.get(ME)

    (access,) = [line for line in json_lines() if line["logger"] == "accounts.access"]
    assert access["user_id"] == str(user.pk)
    assert access["status"] == 200


def test_user_id_is_in_the_log_line_of_a_signed_in_page(client, user, json_lines):
    client.force_login(user)

    client.get("/accounts/profile/")

    (access,) = [line for line in json_lines() if line["logger"] == "accounts.access"]
    assert access["user_id"] == str(user.pk)
    assert access["view"] == "accounts:profile"


def test_anonymous_request_log_line_has_no_user_id(api_client, json_lines):
    api_client.get("/api/v1/health")

    (access,) = [line for line in json_lines() if line["logger"] == "accounts.access"]
    assert "user_id" not in access


# ---------------------------------------------------------------------------
# Request id
# ---------------------------------------------------------------------------
def test_given_request_id_is_echoed_and_logged(api_client, json_lines):
    response = failed_sign_in(api_client, HTTP_X_REQUEST_ID="lb-4f2a.9_Z-1")

    assert response["X-Request-ID"] == "lb-4f2a.9_Z-1"
    assert {line["request_id"] for line in json_lines()} == {"lb-4f2a.9_Z-1"}


def test_request_id_is_generated_when_absent(api_client):
    first = api_client.get("/api/v1/health")
    second = api_client.get("/api/v1/health")

    assert re.fullmatch(r"[0-9a-f]{32}", first["X-Request-ID"])
    assert first["X-Request-ID"] != second["X-Request-ID"]


@pytest.mark.parametrize(
    "supplied", ["a" * 129, "has space", "semi;colon", "ünïcode", "", "x/y"]
)
def test_malformed_request_id_is_replaced(api_client, supplied):
    response = api_client.get("/api/v1/health", HTTP_X_REQUEST_ID=supplied)

    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


def test_request_id_of_128_characters_is_kept(api_client):
    supplied = "r" * 128

    response = api_client.get("/api/v1/health", HTTP_X_REQUEST_ID=supplied)

    assert response["X-Request-ID"] == supplied


def test_log_lines_outside_a_request_have_no_request_id(json_lines):
    logging.getLogger("accounts.test").warning("outside")

    (line,) = json_lines()
    assert line["request_id"] is None
    assert "client_ip" not in line


# ---------------------------------------------------------------------------
# Redaction safety net
# ---------------------------------------------------------------------------
def test_formatter_masks_secret_keys_and_secret_shaped_values():
    jwt_like = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
    record = logging.makeLogRecord(
        {
            "name": "x",
            "levelname": "INFO",
            "msg": "link https://id.example.com/accounts/password/reset/MQ/c0ffee-beef/",
            "password": "hunter2hunter2",
            "refresh_token": "opaque",
            "headers": {"Authorization": "Bearer abcdefgh12345678"},
            "note": f"got {jwt_like} and pbkdf2_sha256$600000$salt$digest=",
        }
    )

    entry = json.loads(JsonFormatter().format(record))

    assert entry["message"] == (
        "link https://id.example.com/accounts/password/reset/[redacted]"
    )
    assert entry["password"] == "[redacted]"
    assert entry["refresh_token"] == "[redacted]"
    assert entry["headers"] == {"Authorization": "[redacted]"}
    assert entry["note"] == "got [redacted] and [redacted]"


@pytest.mark.parametrize(
    "text",
    [
        "https://app.example.com/reset-password/MQ/c0ffee-beef",
        "/accounts/verify-email/MQ/c0ffee-beef/",
        "https://app.example.com/verify-email/MQ/c0ffee-beef",
        "password=hunter2hunter2",
        '{"new_password": "hunter2hunter2"}',
        "Authorization: Bearer abcdefgh12345678",
        "argon2$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
    ],
)
def test_redaction_masks_secret_shapes_in_text(text):
    masked = redact(text)

    assert "c0ffee-beef" not in masked
    assert "hunter2hunter2" not in masked
    assert "abcdefgh12345678" not in masked
    assert "aGFzaA" not in masked


def test_redaction_leaves_ordinary_values_alone():
    entry = {"event": "token_reuse", "user_id": "1f0c", "path": "/api/v1/users/me"}

    assert redact(entry) == entry


# ---------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------
def scrape(api_client, token=METRICS_TOKEN) -> dict:
    response = api_client.get(METRICS, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.status_code
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0)


@pytest.fixture
def metrics_token(settings):
    settings.METRICS_TOKEN = METRICS_TOKEN
    return METRICS_TOKEN


def test_metrics_is_404_when_not_configured(api_client):
    response = api_client.get(METRICS, HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")

    assert response.status_code == 404


@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong-token-0123456789", f"Basic {METRICS_TOKEN}"]
)
def test_metrics_is_401_without_the_token(api_client, metrics_token, authorization):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}

    response = api_client.get(METRICS, **headers)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"identity_" not in response.content


def test_metrics_answers_with_the_token(api_client, metrics_token):
    response = api_client.get(METRICS, HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert b"identity_http_requests_total" in response.content


def test_metrics_is_403_from_an_address_not_allowed(api_client, settings):
    settings.METRICS_ALLOWED_IPS = "10.0.0.0/8, 192.168.1.7"

    response = api_client.get(METRICS)

    assert response.status_code == 403


def test_metrics_answers_an_allowed_address_without_a_token(api_client, settings):
    settings.METRICS_ALLOWED_IPS = "10.0.0.0/8,127.0.0.1"

    response = api_client.get(METRICS)

    assert response.status_code == 200


def test_metrics_ignores_a_forged_forwarded_for_without_trusted_proxies(
    api_client, settings
):
    settings.METRICS_ALLOWED_IPS = "10.0.0.0/8"

    response = api_client.get(METRICS, HTTP_X_FORWARDED_FOR="10.1.2.3")

    assert response.status_code == 403


def test_metrics_trusts_the_forwarded_address_behind_a_configured_proxy(
    api_client, settings
):
    settings.METRICS_ALLOWED_IPS = "10.0.0.0/8"
    settings.TRUSTED_PROXY_COUNT = 1

    response = api_client.get(METRICS, HTTP_X_FORWARDED_FOR="10.1.2.3")

    assert response.status_code == 200


def test_metrics_with_both_guards_needs_both(api_client, settings, metrics_token):
    settings.METRICS_ALLOWED_IPS = "127.0.0.1"

    without_token = api_client.get(METRICS)
    with_token = api_client.get(METRICS, HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")

    assert without_token.status_code == 401
    assert with_token.status_code == 200


def test_metrics_count_a_sign_in_failure(api_client, metrics_token):
    before = scrape(api_client)

    failed_sign_in(api_client)

    after = scrape(api_client)
    name = "identity_security_events_total"
    assert value(after, name, event="signin_failed") == (
        value(before, name, event="signin_failed") + 1
    )
    requests = "identity_http_requests_total"
    labels = {"view": "api:signin", "method": "POST", "status": "401"}
    assert value(after, requests, **labels) == value(before, requests, **labels) + 1


def test_metrics_count_a_sign_in_success(api_client, metrics_token, user, password):
    before = scrape(api_client)

    api_client.post(SIGNIN, {"email": user.email, "password": password}, format="json")

    after = scrape(api_client)
    name = "identity_security_events_total"
    assert value(after, name, event="signin_succeeded") == (
        value(before, name, event="signin_succeeded") + 1
    )
    assert value(after, name, event="signin_failed") == value(
        before, name, event="signin_failed"
    )


def test_metrics_count_a_lockout(api_client, metrics_token, settings, user):
    settings.LOCKOUT_THRESHOLD = 2
    settings.THROTTLE_RATES = "signin=100/min"
    before = scrape(api_client)

    for _ in range(3):
        api_client.post(
            SIGNIN, {"email": user.email, "password": "wrong guess"}, format="json"
        )

    after = scrape(api_client)
    name = "identity_security_events_total"
    assert value(after, name, event="signin_locked") == (
        value(before, name, event="signin_locked") + 1
    )


def test_metrics_label_unknown_paths_as_unmatched(api_client, metrics_token):
    api_client.get("/no/such/page/4711")

    samples = scrape(api_client)

    assert not [key for key in samples if "4711" in str(key)]
    assert value(
        samples,
        "identity_http_requests_total",
        view="unmatched",
        method="GET",
        status="404",
    )


def test_metrics_count_queued_and_sent_emails(api_client, metrics_token, user):
    emails.send_password_changed(user)

    samples = scrape(api_client)

    assert value(samples, "identity_emails_total", outcome="queued") == 1
    assert value(samples, "identity_emails_total", outcome="sent") == 1
    assert value(samples, "identity_emails_total", outcome="failed") == 0


def test_metrics_count_an_email_skipped_by_the_worker(api_client, metrics_token, user):
    # Queued for an account deleted before the worker ran: nothing to send.
    user_id = str(user.pk)
    user.delete()
    emails.send_password_changed(UserFactory.build(pk=user_id))

    samples = scrape(api_client)

    assert value(samples, "identity_emails_total", outcome="queued") == 1
    assert value(samples, "identity_emails_total", outcome="skipped") == 1
    assert value(samples, "identity_emails_total", outcome="sent") == 0


def test_metrics_report_the_email_queue(api_client, metrics_token, user, settings):
    settings.TASKS = DATABASE_TASKS
    emails.send_password_changed(user)
    emails.send_welcome(user)

    with time_machine.travel(timezone.now() + timedelta(seconds=90)):
        samples = scrape(api_client)

    assert value(samples, "identity_email_queue_depth") == 2
    assert 90 <= value(samples, "identity_email_queue_oldest_pending_seconds") < 100


# ---------------------------------------------------------------------------
# Readiness
# ---------------------------------------------------------------------------
def test_readiness_is_ok_when_everything_answers(api_client):
    response = api_client.get(READY)

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "cache": "ok",
        "email_queue": "ok",
        "oldest_pending_seconds": 0,
    }


def test_readiness_is_503_naming_the_cache_when_it_is_unreachable(api_client, settings):
    settings.CACHES = redis_cache(UNREACHABLE_REDIS)

    response = api_client.get(READY)

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "database": "ok",
        "cache": "unavailable",
        "email_queue": "ok",
        "oldest_pending_seconds": 0,
    }


def test_readiness_is_503_naming_the_database_when_it_is_unreachable(
    api_client, database_down
):
    response = api_client.get(READY)

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "database": "unavailable",
        "cache": "ok",
        "email_queue": "unavailable",
        "oldest_pending_seconds": None,
    }


def test_readiness_is_503_when_an_email_waited_longer_than_allowed(
    api_client, settings, user
):
    settings.TASKS = DATABASE_TASKS
    settings.EMAIL_QUEUE_MAX_AGE = 600
    emails.send_password_changed(user)

    with time_machine.travel(timezone.now() + timedelta(seconds=700)):
        response = api_client.get(READY)

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["email_queue"] == "stalled"
    assert body["database"] == body["cache"] == "ok"
    assert 700 <= body["oldest_pending_seconds"] < 710


def test_readiness_is_ok_while_the_oldest_email_is_younger_than_allowed(
    api_client, settings, user
):
    settings.TASKS = DATABASE_TASKS
    settings.EMAIL_QUEUE_MAX_AGE = 600
    emails.send_password_changed(user)

    with time_machine.travel(timezone.now() + timedelta(seconds=500)):
        response = api_client.get(READY)

    assert response.status_code == 200
    assert 500 <= response.json()["oldest_pending_seconds"] < 510


def test_readiness_ignores_a_retry_scheduled_for_later(api_client, settings, user):
    settings.TASKS = DATABASE_TASKS
    settings.EMAIL_QUEUE_MAX_AGE = 600
    send_account_email.using(run_after=timezone.now() + timedelta(hours=1)).enqueue(
        notification="welcome", user_id=str(user.pk), extra={}, attempt=2
    )

    with time_machine.travel(timezone.now() + timedelta(seconds=900)):
        response = api_client.get(READY)

    assert response.status_code == 200
    assert response.json()["oldest_pending_seconds"] == 0


def test_readiness_is_in_the_openapi_schema(api_client):
    schema = api_client.get("/api/schema/?format=json").json()

    assert "get" in schema["paths"]["/api/v1/health/ready"]


def test_readiness_is_exempt_from_the_https_redirect(api_client, settings):
    settings.SECURE_SSL_REDIRECT = True

    response = api_client.get(READY)

    assert response.status_code == 200


# ---------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------
def observability_errors() -> list[str]:
    variables = ("LOG_FORMAT", "METRICS_", "EMAIL_QUEUE_MAX_AGE")
    return [
        error.msg.split(":")[0]
        for error in run_checks(tags=[TAG])
        if error.is_serious() and error.msg.startswith(variables)
    ]


@pytest.mark.parametrize(
    "variable, value",
    [
        ("LOG_FORMAT", "xml"),
        ("METRICS_TOKEN", "short"),
        ("METRICS_ALLOWED_IPS", "10.0.0.0/8,not-an-address"),
        ("EMAIL_QUEUE_MAX_AGE", 0),
    ],
)
def test_bad_observability_value_is_refused_naming_it(settings, variable, value):
    setattr(settings, variable, value)

    assert observability_errors() == [variable]


def test_good_observability_values_pass(settings):
    settings.LOG_FORMAT = "json"
    settings.METRICS_TOKEN = METRICS_TOKEN
    settings.METRICS_ALLOWED_IPS = "10.0.0.0/8, 127.0.0.1, ::1"

    assert observability_errors() == []


# ---------------------------------------------------------------------------
# Nothing secret reaches the logs, whatever the flow
# ---------------------------------------------------------------------------
# At DEBUG these log SQL with its parameters (password hashes) and whole
# template contexts (an email's reset link).
PINNED_LOGGERS = ("django.db.backends", "django.template")


def test_debug_loggers_that_would_leak_are_pinned_above_debug(settings):
    for name in PINNED_LOGGERS:
        level = settings.LOGGING["loggers"][name]["level"]

        assert logging.getLevelName(level) > logging.DEBUG


@pytest.fixture
def everything_logged():
    """Every record of every logger at DEBUG, before any formatter touches it;
    only the loggers settings pin above DEBUG keep their level, since that level
    is their guard (test_debug_loggers_that_would_leak_are_pinned_above_debug)."""
    capture = Capture()
    root = logging.getLogger()
    loggers = [root] + [
        logger
        for name, logger in logging.root.manager.loggerDict.items()
        if isinstance(logger, logging.Logger) and name not in PINNED_LOGGERS
    ]
    levels = {logger: logger.level for logger in loggers}
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    root.addHandler(capture)
    yield capture.records
    root.removeHandler(capture)
    for logger, level in levels.items():
        logger.setLevel(level)


def _record_texts(record: logging.LogRecord) -> list[str]:
    texts = [record.getMessage(), repr(record.args)]
    texts += [repr(value) for value in vars(record).values()]
    formatted = JsonFormatter().format(record)
    return texts + [formatted]


def test_no_flow_logs_a_password_token_link_or_hash(
    api_client, mailoutbox, everything_logged, settings
):
    settings.EMAIL_VERIFICATION = "optional"
    secrets = []
    first, second, third = (
        "first passphrase for ada",
        "second passphrase for ada",
        "third passphrase for ada",
    )
    secrets += [first, second, third, "a wrong guess for ada"]

    def keep_tokens(response):
        body = response.json()
        secrets.extend([body["access_token"], body["refresh_token"]])
        return body

    def keep_hash():
        secrets.append(User.objects.get(username="ada").password)

    def post(path, body, token=None):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
        return api_client.post(path, body, format="json", **headers)

    # Sign up: the welcome email carries the verification link.
    signup = post(
        "/api/v1/auth/signup",
        {"email": "ada@example.com", "username": "ada", "password": first},
    )
    assert signup.status_code == 201
    tokens = keep_tokens(signup)
    keep_hash()
    link, uid, token = emailed_link(mailoutbox[-1], "verify-email")
    secrets += [link, token]
    # Verify the address.
    assert (
        post("/api/v1/auth/verify-email", {"uid": uid, "token": token}).status_code
        < 300
    )
    # Sign in, with a wrong password first.
    assert post(SIGNIN, {"username": "ada", "password": secrets[3]}).status_code == 401
    signin = post(SIGNIN, {"username": "ada", "password": first})
    tokens = keep_tokens(signin)
    # Refresh.
    refreshed = post(
        "/api/v1/auth/token/refresh", {"refresh_token": tokens["refresh_token"]}
    )
    tokens = keep_tokens(refreshed)
    # Change the password.
    changed = post(
        "/api/v1/auth/change-password",
        {"old_password": first, "new_password": second},
        tokens["access_token"],
    )
    tokens = keep_tokens(changed)
    keep_hash()
    # Forgot and reset the password through the emailed link.
    assert (
        post("/api/v1/auth/forgot-password", {"email": "ada@example.com"}).status_code
        < 300
    )
    link, uid, token = emailed_link(mailoutbox[-1], "password/reset")
    secrets += [link, token]
    reset = post(
        "/api/v1/auth/reset-password",
        {"uid": uid, "token": token, "new_password": third},
    )
    assert reset.status_code == 200
    keep_hash()
    # Sign in again, use the token, sign out, then delete the account.
    tokens = keep_tokens(post(SIGNIN, {"username": "ada", "password": third}))
    assert (
        api_client.get(
            ME, HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}"
        ).status_code
        < 300
    )
    assert (
        post(
            "/api/v1/auth/signout",
            {"refresh_token": tokens["refresh_token"]},
            tokens["access_token"],
        ).status_code
        < 300
    )
    tokens = keep_tokens(post(SIGNIN, {"username": "ada", "password": third}))
    deleted = api_client.delete(
        ME,
        {"password": third},
        format="json",
        HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}",
    )
    assert deleted.status_code == 204

    assert len(everything_logged) > 20
    events = {getattr(record, "event", None) for record in everything_logged}
    assert {"signup", "signin_failed", "password_reset_completed"} <= events
    # Signatures too, in case a token were cut short before being logged.
    secrets += [s.rsplit(".", 1)[-1] for s in secrets if s.count(".") == 2]
    leaks = [
        (record.name, record.getMessage(), secret)
        for record in everything_logged
        for text in _record_texts(record)
        for secret in secrets
        if secret in text
    ]
    assert leaks == []


def test_password_hash_format_is_what_the_redaction_expects(db):
    user = UserFactory()

    assert redact(user.password) == "[redacted]"
