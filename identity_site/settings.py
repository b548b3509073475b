"""Settings for the identity service: one module, every deploy-time value from the
environment (django-environ; a `.env` file beside manage.py is honoured).

Values that cannot be parsed stop start-up here with ImproperlyConfigured naming the
variable; values that parse but make no sense are refused by `accounts/checks.py`.
"""

import os
from pathlib import Path

import environ
from corsheaders.defaults import default_headers as cors_default_headers
from django.core.exceptions import ImproperlyConfigured

from accounts.hashers import ACCEPTED_HASHERS
from accounts.throttle_rates import is_off as _throttles_off

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    env.read_env(BASE_DIR / ".env")


def _read(name, cast, default):
    """Read one variable, naming it when its value cannot be parsed."""
    try:
        return cast(name, default=default)
    except (ValueError, TypeError, ImproperlyConfigured) as exc:
        raise ImproperlyConfigured(
            f"{name}: cannot parse {env.str(name, default='')!r} ({exc})"
        ) from exc


def _int(name, default):
    return _read(name, env.int, default)


def _bool(name, default):
    return _read(name, env.bool, default)


# ---------------------------------------------------------------------------
# Core
# ---------------------------------------------------------------------------
# Only ever used with DEBUG on; accounts.checks refuses it otherwise.
DEVELOPMENT_SECRET_KEY = (
    "development-only-secret-key-never-use-in-production-0123456789"
)
SECRET_KEY = env.str("SECRET_KEY", default=DEVELOPMENT_SECRET_KEY)
DEBUG = _bool("DEBUG", False)
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else []
)
SITE_URL = env.str("SITE_URL", default="http://localhost:8000").rstrip("/")
SITE_NAME = env.str("SITE_NAME", default="Identity")
FRONTEND_URL = env.str("FRONTEND_URL", default="").rstrip("/")
# Serves the example SPA (examples/spa/) at /examples/spa/; development only.
EXAMPLE_SPA = _bool("EXAMPLE_SPA", DEBUG)
# Mounts /bench/ceiling, the plain view `make bench` measures the stack's limit
# with; off everywhere but the benchmark's own server.
BENCH_ENDPOINTS = _bool("BENCH_ENDPOINTS", False)

ROOT_URLCONF = "identity_site.urls"
WSGI_APPLICATION = "identity_site.wsgi.application"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# ---------------------------------------------------------------------------
# Apps & middleware
# ---------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "csp",
    "django_tasks",
    "django_tasks_db",
    "accounts",
]

# accounts.doors.*: the browser doors' middleware (sessions, the signed-in user,
# messages, the session rules); API requests (/api/, /.well-known/, /metrics:
# bearer tokens through DRF) go past them. The rest runs for all. CSRF keeps
# Django's own name, which `check --deploy` looks for (W003, W016); for the
# API's views, all csrf_exempt, it only reads the cookie if there is one.
MIDDLEWARE = [
    # First: every later line of the request carries its id, and the metrics see
    # every response, redirects and refusals included.
    "accounts.observability.logs.RequestIdMiddleware",
    "accounts.observability.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "accounts.doors.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "accounts.doors.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "accounts.doors.AuthenticationMiddleware",
    "accounts.doors.MessageMiddleware",
    "accounts.doors.IdleTimeoutMiddleware",
    "accounts.middleware.NoStoreMiddleware",
    "accounts.doors.MfaSetupMiddleware",
    "accounts.doors.ReauthenticationMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "accounts.csp_header.CachedCSPMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.site",
            ],
        },
    },
]

# ---------------------------------------------------------------------------
# Database
# ---------------------------------------------------------------------------
VAR_DIR.mkdir(exist_ok=True)
DATABASES = {
    "default": _read(
        "DATABASE_URL", env.db_url, f"sqlite:///{VAR_DIR / 'identity.sqlite3'}"
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while the task worker writes; IMMEDIATE takes
    # the write lock up front so concurrent writers queue instead of failing.
    # Tests use a file too: threads of a shared-cache in-memory database get
    # "table is locked" instead of waiting for the write lock.
    # The process id keeps parallel test runs on one checkout apart.
    DATABASES["default"].setdefault(
        "TEST", {"NAME": str(VAR_DIR / f"test-identity-{os.getpid()}.sqlite3")}
    )
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Django's, with a health check that needs no round trip and a cursor
        # for prepared statements (identity_site/postgresql/base.py).
        DATABASES["default"]["ENGINE"] = "identity_site.postgresql"
    DATABASES["default"].setdefault("CONN_MAX_AGE", _int("CONN_MAX_AGE", 60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
    # Server-side prepared statements for the per-request lookups
    # (accounts.compiled_lookup; every other query stays client-bound and
    # unprepared). Off behind a pooler that hands each transaction another
    # server connection (PgBouncer's transaction pooling before 1.21, or
    # without max_prepared_statements): a statement is prepared on one.
    if _bool("DB_PREPARED_STATEMENTS", True):
        DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
            "prepare_threshold", 0
        )

# ---------------------------------------------------------------------------
# Cache (throttles and lockout must be shared by every process)
# ---------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if env.str("CACHE_URL", default=""):
    CACHES = {"default": _read("CACHE_URL", env.cache_url, None)}
elif REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "identity_cache",
        }
    }

# ---------------------------------------------------------------------------
# Auth & passwords
# ---------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
# Usernames are unique through their canonical key (User.username_key: case and
# compatibility forms folded), which auth.W004 cannot see; our backend looks them
# up by the same key.
SILENCED_SYSTEM_CHECKS = ["auth.W004"]
if not _bool("SECURE_HSTS_PRELOAD", False):
    # Joining the browsers' HSTS preload list is hard to undo, so it is the
    # operator's explicit choice (SECURE_HSTS_PRELOAD=true), not a default.
    SILENCED_SYSTEM_CHECKS.append("security.W021")
AUTHENTICATION_BACKENDS = ["accounts.backends.EmailOrUsernameBackend"]
LOGIN_URL = "accounts:signin"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# New passwords get the first; see accounts.hashers.
PASSWORD_HASHERS = list(ACCEPTED_HASHERS)
PASSWORD_MIN_LENGTH = _int("PASSWORD_MIN_LENGTH", 12)
PASSWORD_MAX_LENGTH = 4096
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "accounts.validators.MaximumLengthValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": PASSWORD_MIN_LENGTH},
    },
    {
        "NAME": "django.contrib.auth.password_validation."
        "UserAttributeSimilarityValidator"
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "accounts.validators.PasswordStrengthValidator"},
]
# zxcvbn score a password must reach (0-4). 3 means roughly 10^10 guesses are
# needed: far beyond online guessing, and hours to days offline against Argon2.
# 4 refuses many decent passphrases; 2 lets "Password@1234" through.
PASSWORD_MIN_SCORE = _int("PASSWORD_MIN_SCORE", 3)
# Ask the Pwned Passwords range API whether a new password is breached (off by
# default: it sends 5 hex digits of the password's SHA-1 to a third party).
PASSWORD_BREACH_CHECK = _bool("PASSWORD_BREACH_CHECK", False)
PASSWORD_BREACH_CHECK_URL = env.str(
    "PASSWORD_BREACH_CHECK_URL", default="https://api.pwnedpasswords.com/range/"
)
PASSWORD_BREACH_CHECK_TIMEOUT = _read("PASSWORD_BREACH_CHECK_TIMEOUT", env.float, 2.0)
if PASSWORD_BREACH_CHECK:
    AUTH_PASSWORD_VALIDATORS.append(
        {"NAME": "accounts.validators.BreachedPasswordValidator"}
    )
PASSWORD_RESET_TIMEOUT = _int("PASSWORD_RESET_TIMEOUT", 60 * 60 * 24)
EMAIL_VERIFICATION = env.str("EMAIL_VERIFICATION", default="optional")

SESSION_COOKIE_AGE = _int("SESSION_COOKIE_AGE", 60 * 60 * 24 * 14)
SESSION_IDLE_TIMEOUT = _int("SESSION_IDLE_TIMEOUT", 60 * 60 * 24 * 2)
# No session, API or browser, outlives this from its sign-in, however active.
SESSION_MAX_AGE_DAYS = _int("SESSION_MAX_AGE_DAYS", 30)

# ---------------------------------------------------------------------------
# Strong authentication: recent sign-in, second factors, passkeys
# ---------------------------------------------------------------------------
# Seconds a proved factor counts as "recent" for sensitive changes.
REAUTH_WINDOW = _int("REAUTH_WINDOW", 300)
# Whose accounts must have a second factor: none, staff or all.
MFA_REQUIRED = env.str("MFA_REQUIRED", default="staff").strip().lower()
# Fernet keys for TOTP secrets at rest, newest first (the newest encrypts, every
# one decrypts; `manage.py rotate_mfa_keys` re-encrypts). Empty: one key derived
# from SECRET_KEY.
MFA_ENCRYPTION_KEYS = env.list("MFA_ENCRYPTION_KEYS", default=[])
# Seconds between the owner accepting a staff-started factor reset and the removal.
MFA_RESET_DELAY = _int("MFA_RESET_DELAY", 60 * 60 * 24 * 3)
# Seconds an address change waits for the new address to confirm it.
EMAIL_CHANGE_TIMEOUT = _int("EMAIL_CHANGE_TIMEOUT", 60 * 60 * 24)
SIGNIN_BY_CODE = _bool("SIGNIN_BY_CODE", True)
# WebAuthn relying party: the host of SITE_URL unless set.
WEBAUTHN_RP_ID = env.str("WEBAUTHN_RP_ID", default="")
WEBAUTHN_RP_NAME = env.str("WEBAUTHN_RP_NAME", default=SITE_NAME)

# ---------------------------------------------------------------------------
# Tokens (SimpleJWT classes with our own claims and keys: accounts/tokens.py,
# accounts/signing_keys.py)
# ---------------------------------------------------------------------------
ACCESS_TOKEN_EXPIRE_MINUTES = _int("ACCESS_TOKEN_EXPIRE_MINUTES", 15)
REFRESH_TOKEN_EXPIRE_DAYS = _int("REFRESH_TOKEN_EXPIRE_DAYS", 7)
JWT_ALGORITHM = env.str("JWT_ALGORITHM", default="HS256")
JWT_SIGNING_KEY = env.str("JWT_SIGNING_KEY", default="") or SECRET_KEY
JWT_PRIVATE_KEY_FILE = env.str("JWT_PRIVATE_KEY_FILE", default="")
JWT_PUBLIC_KEY_FILE = env.str("JWT_PUBLIC_KEY_FILE", default="")
# Key rotation: tokens signed with these earlier keys still verify until
# JWT_PREVIOUS_KEYS_UNTIL (ISO-8601; checked at each verification); new tokens
# are always signed with the current key. See README "Operations".
JWT_PREVIOUS_SIGNING_KEYS = env.list("JWT_PREVIOUS_SIGNING_KEYS", default=[])
JWT_PREVIOUS_PUBLIC_KEY_FILES = env.list("JWT_PREVIOUS_PUBLIC_KEY_FILES", default=[])
JWT_PREVIOUS_KEYS_UNTIL = env.str("JWT_PREVIOUS_KEYS_UNTIL", default="")

# Lifetimes and signing keys are not SimpleJWT's to read: accounts.tokens and
# accounts.signing_keys take them from the values above. SimpleJWT only parses
# the Authorization header and checks these claims on our token classes.
SIMPLE_JWT = {
    "AUTH_HEADER_TYPES": ("Bearer",),
    "TOKEN_TYPE_CLAIM": "token_type",
    "JTI_CLAIM": "jti",
}

# ---------------------------------------------------------------------------
# REST framework & API docs
# ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.JWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        # MFA_REQUIRED: a session that must set up a second factor does only that.
        "accounts.api.permissions.NotConfined",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "accounts.api.exception_handler.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["accounts.api.throttling.UserRateThrottle"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append(
        "rest_framework.renderers.BrowsableAPIRenderer"
    )
SPECTACULAR_SETTINGS = {
    "TITLE": "Identity API",
    "DESCRIPTION": "Accounts, tokens and sessions. See README for the contract.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
}

# ---------------------------------------------------------------------------
# Email & tasks
# ---------------------------------------------------------------------------
if env.str("EMAIL_URL", default=""):
    vars().update(_read("EMAIL_URL", env.email_url, None))
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = VAR_DIR / "mail"
EMAIL_TIMEOUT = _int("EMAIL_TIMEOUT", 20)
DEFAULT_FROM_EMAIL = env.str(
    "DEFAULT_FROM_EMAIL", default="Identity <no-reply@localhost>"
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# How long the worker keeps retrying a message that cannot be delivered.
EMAIL_RETRY_WINDOW = _int("EMAIL_RETRY_WINDOW", 60 * 60 * 2)
# Readiness (/api/v1/health/ready) fails once a due email has waited this long
# (seconds) for a worker.
EMAIL_QUEUE_MAX_AGE = _int("EMAIL_QUEUE_MAX_AGE", 15 * 60)

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# ---------------------------------------------------------------------------
# Security
# ---------------------------------------------------------------------------
SECURE_SSL_REDIRECT = _bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = _int("SECURE_HSTS_SECONDS", 0 if DEBUG else 60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = _bool("SECURE_HSTS_PRELOAD", False)
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Cookies: secure and host-only in production, so a sibling subdomain or a plain
# HTTP hop can never set or read them.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "Lax"
if not DEBUG:
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# A stale form gets the site's "this form expired" page, JSON under /api/.
CSRF_FAILURE_VIEW = "accounts.web.error_pages.csrf_failure"
TRUSTED_PROXY_COUNT = _int("TRUSTED_PROXY_COUNT", 0)
if TRUSTED_PROXY_COUNT:
    # Only behind a configured proxy: otherwise any client could claim HTTPS.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Load balancers and container probes check liveness, and Prometheus scrapes
# /metrics, over plain HTTP inside the private network.
SECURE_REDIRECT_EXEMPT = [r"^api/v1/health", r"^metrics$"]
# Rates per scope, "scope=N/period,..." over the defaults of
# accounts/throttle_rates.py (unset: the defaults); "off" disables the rate
# limits, the lockout and the slowdown (load tests only).
THROTTLE_RATES = env.str("THROTTLE_RATES", default="")
if _throttles_off(THROTTLE_RATES):
    # Off from start-up: DRF then runs no per-user throttle class at all rather
    # than one that counts nothing on every call. (Turning the rates on later,
    # as tests do, leaves the class in: it reads THROTTLE_RATES at each call.)
    REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = []
LOCKOUT_THRESHOLD = _int("LOCKOUT_THRESHOLD", 10)
LOCKOUT_WINDOW = _int("LOCKOUT_WINDOW", 15 * 60)

# Content-Security-Policy (django-csp): nothing inline, nothing from elsewhere.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/api/.*$"
# true lets a same-site SPA on a listed origin send its refresh cookie (the
# cookie transport); accounts.checks then refuses a wildcard, a regex or `null`.
CORS_ALLOW_CREDENTIALS = _bool("CORS_ALLOW_CREDENTIALS", False)
CORS_ALLOW_ALL_ORIGINS = _bool("CORS_ALLOW_ALL_ORIGINS", False)
CORS_ALLOWED_ORIGIN_REGEXES = env.list("CORS_ALLOWED_ORIGIN_REGEXES", default=[])
# The SPA names its transport in X-Token-Transport (accounts.api.transport).
CORS_ALLOW_HEADERS = (*cors_default_headers, "x-token-transport")

# Oversize bodies are refused before parsing (a password of PASSWORD_MAX_LENGTH
# characters fits).
DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 100

# ---------------------------------------------------------------------------
# Static files
# ---------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# ---------------------------------------------------------------------------
# Logging & metrics
# ---------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# json: one object per line, for log storage (the default with DEBUG off);
# text: for people reading a terminal (the default with DEBUG on).
LOG_FORMAT = env.str("LOG_FORMAT", default="text" if DEBUG else "json").lower()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_context": {"()": "accounts.observability.logs.RequestContextFilter"},
    },
    "formatters": {
        "json": {"()": "accounts.observability.logs.JsonFormatter"},
        "text": {"()": "accounts.observability.logs.TextFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "text" if LOG_FORMAT == "text" else "json",
            "filters": ["request_context"],
        },
        "security_metrics": {
            "class": "accounts.observability.metrics.SecurityEventMetricsHandler",
        },
        "email_metrics": {
            "class": "accounts.observability.metrics.EmailOutcomeMetricsHandler",
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Never below WARNING: with DEBUG on, DEBUG lines carry every SQL
        # statement with its parameters (password hashes, token ids).
        "django.db.backends": {"level": "WARNING"},
        # Likewise: at DEBUG a missing template variable logs the whole template
        # context, which for an email holds its reset or verification link.
        "django.template": {"level": "INFO"},
        "accounts.security": {"level": "INFO", "handlers": ["security_metrics"]},
        # Counted only: each outcome already has its line on accounts.tasks.
        "accounts.email_outcomes": {
            "level": "INFO",
            "handlers": ["email_metrics"],
            "propagate": False,
        },
    },
}

# /metrics (Prometheus) answers only a scraper holding METRICS_TOKEN (bearer)
# and/or calling from METRICS_ALLOWED_IPS (addresses or networks,
# comma-separated); with neither set it answers 404.
METRICS_TOKEN = _read("METRICS_TOKEN", env.str, "")
METRICS_ALLOWED_IPS = _read("METRICS_ALLOWED_IPS", env.str, "")
