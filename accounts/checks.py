"""System checks that refuse bad configuration at start-up, naming the variable.

They run with every management command (migrate, runserver, the task worker) and,
through `refuse_bad_configuration()`, when gunicorn loads the WSGI application, so
a bad value stops the process instead of becoming a 500 at request time.
"""

import ipaddress
from pathlib import Path
from urllib.parse import urlsplit

from corsheaders.conf import conf as cors_conf
from cryptography.fernet import Fernet
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from accounts import relying_party, throttle_rates
from accounts.signing_keys import (
    load_key_pair,
    load_public_key,
    parse_previous_keys_until,
)

TAG = "identity_config"
SYMMETRIC_ALGORITHMS = {"HS256", "HS384", "HS512"}
ASYMMETRIC_ALGORITHMS = {"RS256", "RS384", "RS512", "ES256", "ES384", "ES512"}
EMAIL_VERIFICATION_MODES = {"none", "optional", "mandatory"}
MFA_REQUIRED_SCOPES = ("none", "staff", "all")


def _error(variable: str, message: str) -> checks.Error:
    return checks.Error(f"{variable}: {message}", id=f"identity.{variable}")


def _positive_int(variable: str, value) -> list[checks.Error]:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return [_error(variable, f"must be a positive integer, got {value!r}.")]
    return []


@checks.register(TAG)
def check_lifetimes(app_configs=None, **kwargs):
    errors = []
    for variable in (
        "ACCESS_TOKEN_EXPIRE_MINUTES",
        "REFRESH_TOKEN_EXPIRE_DAYS",
        "PASSWORD_RESET_TIMEOUT",
        "PASSWORD_MIN_LENGTH",
        "SESSION_COOKIE_AGE",
        "SESSION_IDLE_TIMEOUT",
        "SESSION_MAX_AGE_DAYS",
        "EMAIL_RETRY_WINDOW",
        "LOCKOUT_THRESHOLD",
        "LOCKOUT_WINDOW",
    ):
        errors += _positive_int(variable, getattr(settings, variable))
    if not errors and settings.PASSWORD_MIN_LENGTH > settings.PASSWORD_MAX_LENGTH:
        errors.append(
            _error(
                "PASSWORD_MIN_LENGTH",
                f"must not exceed the maximum of {settings.PASSWORD_MAX_LENGTH}.",
            )
        )
    if (
        not isinstance(settings.TRUSTED_PROXY_COUNT, int)
        or settings.TRUSTED_PROXY_COUNT < 0
    ):
        errors.append(_error("TRUSTED_PROXY_COUNT", "must be 0 or a positive integer."))
    return errors


@checks.register(TAG)
def check_jwt(app_configs=None, **kwargs):
    algorithm = settings.JWT_ALGORITHM
    if algorithm in SYMMETRIC_ALGORITHMS:
        key = settings.JWT_SIGNING_KEY
        if not key or len(key) < 32:
            return [_error("JWT_SIGNING_KEY", "must be at least 32 characters long.")]
        if not settings.DEBUG and key == settings.SECRET_KEY:
            # Unset, it falls back to SECRET_KEY: one leaked secret would then
            # forge tokens and browser sessions alike, and rotating one would
            # rotate the other.
            return [
                _error(
                    "JWT_SIGNING_KEY",
                    "set a key of its own when DEBUG is off, not the SECRET_KEY.",
                )
            ]
        return []
    if algorithm not in ASYMMETRIC_ALGORITHMS:
        supported = ", ".join(sorted(SYMMETRIC_ALGORITHMS | ASYMMETRIC_ALGORITHMS))
        return [
            _error(
                "JWT_ALGORITHM",
                f"unknown algorithm {algorithm!r}; use one of {supported}.",
            )
        ]
    errors = []
    for variable in ("JWT_PRIVATE_KEY_FILE", "JWT_PUBLIC_KEY_FILE"):
        path = getattr(settings, variable)
        if not path:
            errors.append(
                _error(variable, f"is required with JWT_ALGORITHM={algorithm}.")
            )
        elif not Path(path).is_file():
            errors.append(_error(variable, f"no readable file at {path!r}."))
    if errors:
        return errors
    try:
        load_key_pair()
    except ValueError as exc:
        errors.append(
            _error("JWT_PRIVATE_KEY_FILE", f"cannot be used with {algorithm}: {exc}")
        )
    return errors


@checks.register(TAG)
def check_site(app_configs=None, **kwargs):
    errors = []
    if not settings.DEBUG and settings.SECRET_KEY == settings.DEVELOPMENT_SECRET_KEY:
        errors.append(
            _error(
                "SECRET_KEY", "set a secret of your own; the development key is public."
            )
        )
    for variable in ("SITE_URL", "FRONTEND_URL"):
        value = getattr(settings, variable)
        if variable == "FRONTEND_URL" and not value:
            continue
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            errors.append(
                _error(variable, f"must be an absolute http(s) URL, got {value!r}.")
            )
        elif (
            parts.scheme == "http"
            and not settings.DEBUG
            and not _is_loopback(parts.hostname)
        ):
            # Reset and verification links, and the cookies, would travel in
            # the clear. Loopback stays allowed: nothing crosses a network.
            errors.append(
                _error(
                    variable,
                    "must be https when DEBUG is off (emailed links and cookies "
                    f"would cross the network in the clear), got {value!r}.",
                )
            )
    if settings.EMAIL_VERIFICATION not in EMAIL_VERIFICATION_MODES:
        errors.append(
            _error(
                "EMAIL_VERIFICATION",
                "must be one of none, optional, mandatory; "
                f"got {settings.EMAIL_VERIFICATION!r}.",
            )
        )
    errors += _check_throttle_rates(settings.THROTTLE_RATES)
    return errors


def _is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def _check_throttle_rates(value: str) -> list[checks.Error]:
    if throttle_rates.is_off(value):
        return []
    try:
        throttle_rates.parse(value)
    except ValueError as exc:
        return [
            _error(
                "THROTTLE_RATES",
                f"cannot read {str(exc)!r}; write scope=N/period (period s, min, "
                "hour or day), comma-separated, or 'off'.",
            )
        ]
    return []


@checks.register(TAG)
def check_previous_jwt_keys(app_configs=None, **kwargs):
    """Key rotation: previous keys need an end to their grace period, and must
    suit the current algorithm (an old key accepted forever, or one that can
    never match, is a rotation gone wrong)."""
    errors = []
    algorithm = settings.JWT_ALGORITHM
    keys = settings.JWT_PREVIOUS_SIGNING_KEYS
    files = settings.JWT_PREVIOUS_PUBLIC_KEY_FILES
    try:
        until = parse_previous_keys_until(settings.JWT_PREVIOUS_KEYS_UNTIL)
    except ValueError:
        errors.append(
            _error(
                "JWT_PREVIOUS_KEYS_UNTIL",
                "must be an ISO-8601 date and time, e.g. 2030-01-31T12:00:00Z; "
                f"got {settings.JWT_PREVIOUS_KEYS_UNTIL!r}.",
            )
        )
        until = False
    if (keys or files) and until is None:
        errors.append(
            _error(
                "JWT_PREVIOUS_KEYS_UNTIL",
                "is required with JWT_PREVIOUS_SIGNING_KEYS or "
                "JWT_PREVIOUS_PUBLIC_KEY_FILES: when does the grace period end?",
            )
        )
    if keys and algorithm not in SYMMETRIC_ALGORITHMS:
        errors.append(
            _error(
                "JWT_PREVIOUS_SIGNING_KEYS",
                f"only applies to HS* algorithms; JWT_ALGORITHM is {algorithm}.",
            )
        )
    elif any(len(key) < 32 for key in keys):
        errors.append(
            _error(
                "JWT_PREVIOUS_SIGNING_KEYS", "every key must be at least 32 characters."
            )
        )
    if files and algorithm not in ASYMMETRIC_ALGORITHMS:
        errors.append(
            _error(
                "JWT_PREVIOUS_PUBLIC_KEY_FILES",
                f"only applies to RS*/ES* algorithms; JWT_ALGORITHM is {algorithm}.",
            )
        )
    elif files:
        for path in files:
            try:
                load_public_key(path)
            except OSError:
                problem = "no readable file"
            except ValueError as exc:
                problem = f"not a {algorithm} public key ({exc})"
            else:
                continue
            errors.append(
                _error("JWT_PREVIOUS_PUBLIC_KEY_FILES", f"{problem} at {path!r}.")
            )
    return errors


@checks.register(TAG)
def check_observability(app_configs=None, **kwargs):
    errors = []
    if settings.LOG_FORMAT not in ("json", "text"):
        errors.append(
            _error("LOG_FORMAT", f"must be json or text, got {settings.LOG_FORMAT!r}.")
        )
    errors += _positive_int("EMAIL_QUEUE_MAX_AGE", settings.EMAIL_QUEUE_MAX_AGE)
    if settings.METRICS_TOKEN and len(settings.METRICS_TOKEN) < 16:
        errors.append(_error("METRICS_TOKEN", "must be at least 16 characters long."))
    for item in settings.METRICS_ALLOWED_IPS.split(","):
        try:
            if item.strip():
                ipaddress.ip_network(item.strip(), strict=False)
        except ValueError:
            errors.append(
                _error(
                    "METRICS_ALLOWED_IPS",
                    f"{item.strip()!r} is not an IP address or network "
                    "(e.g. 10.0.0.0/8), comma-separated.",
                )
            )
    return errors


@checks.register(TAG)
def check_password_rules(app_configs=None, **kwargs):
    errors = []
    score = settings.PASSWORD_MIN_SCORE
    if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= 4:
        errors.append(
            _error(
                "PASSWORD_MIN_SCORE", f"must be 0 to 4 (zxcvbn scores), got {score!r}."
            )
        )
    url = urlsplit(settings.PASSWORD_BREACH_CHECK_URL)
    # urllib also opens file: and ftp: URLs; only the HTTP range API is meant.
    if url.scheme not in ("http", "https") or not url.hostname:
        errors.append(
            _error(
                "PASSWORD_BREACH_CHECK_URL",
                "must be an http(s) URL that the SHA-1 prefix is appended to, "
                f"got {settings.PASSWORD_BREACH_CHECK_URL!r}.",
            )
        )
    timeout = settings.PASSWORD_BREACH_CHECK_TIMEOUT
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or timeout <= 0
    ):
        errors.append(
            _error(
                "PASSWORD_BREACH_CHECK_TIMEOUT",
                f"must be a positive number of seconds, got {timeout!r}.",
            )
        )
    return errors


@checks.register(TAG)
def check_second_factors(app_configs=None, **kwargs):
    errors = []
    if settings.MFA_REQUIRED not in MFA_REQUIRED_SCOPES:
        errors.append(
            _error(
                "MFA_REQUIRED",
                f"must be none, staff or all, got {settings.MFA_REQUIRED!r}.",
            )
        )
    keys = settings.MFA_ENCRYPTION_KEYS
    for number, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            # The value is a secret: named by its position, never shown.
            errors.append(
                _error(
                    "MFA_ENCRYPTION_KEYS",
                    f"key {number} of {len(keys)} is not a Fernet key (32 bytes, "
                    'url-safe base64; make one with `python -c "from '
                    "cryptography.fernet import Fernet; "
                    'print(Fernet.generate_key().decode())"`).',
                )
            )
    return errors


@checks.register(TAG)
def check_cors(app_configs=None, **kwargs):
    """With credentials, an allowed origin's script reads answers made with
    the browser's cookies (the refresh cookie of an SPA session included):
    only origins named one by one may have that. A wildcard or a regex lets
    in origins nobody reviewed; `null` is any sandboxed frame or file: page."""
    if not cors_conf.CORS_ALLOW_CREDENTIALS:
        return []
    errors = []
    with_credentials = "is not allowed with CORS_ALLOW_CREDENTIALS; "
    if cors_conf.CORS_ALLOW_ALL_ORIGINS:
        errors.append(
            _error(
                "CORS_ALLOW_ALL_ORIGINS",
                with_credentials + "list each origin in CORS_ALLOWED_ORIGINS.",
            )
        )
    if cors_conf.CORS_ALLOWED_ORIGIN_REGEXES:
        errors.append(
            _error(
                "CORS_ALLOWED_ORIGIN_REGEXES",
                with_credentials + "list each origin in CORS_ALLOWED_ORIGINS.",
            )
        )
    if any(
        str(origin).strip().lower() == "null"
        for origin in cors_conf.CORS_ALLOWED_ORIGINS
    ):
        errors.append(
            _error(
                "CORS_ALLOWED_ORIGINS",
                "the origin `null` " + with_credentials + "remove it.",
            )
        )
    return errors


@checks.register(TAG)
def check_webauthn(app_configs=None, **kwargs):
    """Passkeys are bound to the rp id: one a browser would refuse for our
    pages makes every ceremony fail, so it stops start-up instead."""
    site_host = relying_party.host_of(settings.SITE_URL)
    if not site_host:
        return []  # check_site names SITE_URL
    rp_id = relying_party.rp_id()
    if not relying_party.is_registrable_suffix(rp_id, site_host):
        return [
            _error(
                "WEBAUTHN_RP_ID",
                f"must be SITE_URL's host ({site_host}) or a parent domain of "
                f"it, got {settings.WEBAUTHN_RP_ID!r}.",
            )
        ]
    notes = []
    if relying_party.is_ip_address(site_host) and not settings.WEBAUTHN_RP_ID:
        notes.append(
            checks.Warning(
                f"SITE_URL: browsers refuse passkeys on an IP address "
                f"({site_host}); use a host name such as localhost.",
                id="identity.SITE_URL.webauthn",
            )
        )
    frontend = relying_party.host_of(settings.FRONTEND_URL)
    if frontend and not relying_party.frontend_may_use_passkeys():
        notes.append(
            checks.Warning(
                f"FRONTEND_URL: its host {frontend} is not under the passkey rp "
                f"id {rp_id}, so the SPA cannot use passkeys (set WEBAUTHN_RP_ID "
                "to a parent domain of both hosts).",
                id="identity.FRONTEND_URL.webauthn",
            )
        )
    return notes


def refuse_bad_configuration() -> None:
    """Raise with every configuration error at once (for gunicorn start-up)."""
    errors = checks.run_checks(tags=[TAG])
    serious = [e for e in errors if e.is_serious()]
    if serious:
        raise ImproperlyConfigured(
            "Bad configuration:\n" + "\n".join(f"  {e.msg}" for e in serious)
        )
