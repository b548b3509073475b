"""Log plumbing: request ids, the request's context on every record, redaction,
and the JSON and text formatters.

Every log record gets the request id, client address and user id of the request
being served (a contextvar read by RequestContextFilter) and is written as one
JSON object per line (JsonFormatter; production) or as a text line
(TextFormatter; development). Both formatters redact secrets as a safety net:
the code must not log them in the first place.

Nothing here may import models: settings' LOGGING imports this module while
Django is still starting.
"""

import json
import logging
import re
import uuid
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime

from django.utils.functional import SimpleLazyObject, empty

from accounts.http import client_ip

# ---------------------------------------------------------------------------
# Request context
# ---------------------------------------------------------------------------
REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_META = "HTTP_X_REQUEST_ID"
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
        supplied = request.META.get(_REQUEST_ID_META, "")
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
