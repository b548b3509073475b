"""A bad configuration value stops start-up with a message naming the variable."""

import os
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from django.conf import settings as django_settings
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured

from accounts.checks import TAG, refuse_bad_configuration
from accounts.tests.helpers import write_key_pair

PROJECT_DIR = django_settings.BASE_DIR


@pytest.fixture(autouse=True)
def good_configuration(settings):
    """Production-like values that pass every check; each test spoils one."""
    settings.DEBUG = False
    settings.SECRET_KEY = "test-only-secret-" + "s" * 40
    settings.JWT_ALGORITHM = "HS256"
    settings.JWT_SIGNING_KEY = "test-only-signing-key-" + "k" * 32
    settings.JWT_PRIVATE_KEY_FILE = ""
    settings.JWT_PUBLIC_KEY_FILE = ""
    settings.SITE_URL = "https://id.example.com"
    settings.FRONTEND_URL = ""
    settings.EMAIL_VERIFICATION = "optional"
    settings.THROTTLE_RATES = "signin=10/min,signup=20/hour,password=5/hour"
    return settings


def config_errors() -> list[str]:
    return [error.msg for error in run_checks(tags=[TAG]) if error.is_serious()]


@pytest.fixture
def rsa_key_pair(tmp_path):
    """A fresh RSA key pair as PEM files: (private_path, public_path)."""
    return write_key_pair(tmp_path)


def run_python(code: str, **env) -> subprocess.CompletedProcess:
    """Run `python -c code` in the project directory, as a server process would."""
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "identity_site.settings"}
    environment.update(env)
    return subprocess.run(  # noqa: S603  (our own interpreter, fixed arguments)
        [sys.executable, "-c", code],
        cwd=PROJECT_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


# ---------------------------------------------------------------------------
# The system checks
# ---------------------------------------------------------------------------
def test_good_configuration_passes_every_check():
    errors = config_errors()

    assert errors == []


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ACCESS_TOKEN_EXPIRE_MINUTES", 0),
        ("ACCESS_TOKEN_EXPIRE_MINUTES", -5),
        ("REFRESH_TOKEN_EXPIRE_DAYS", 0),
        ("PASSWORD_RESET_TIMEOUT", 0),
        ("SESSION_MAX_AGE_DAYS", 0),
    ],
)
def test_lifetime_that_is_not_positive_is_refused_naming_it(settings, variable, value):
    setattr(settings, variable, value)

    errors = config_errors()

    assert errors == [f"{variable}: must be a positive integer, got {value}."]


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("PASSWORD_MIN_SCORE", 5, "must be 0 to 4 (zxcvbn scores), got 5."),
        ("PASSWORD_MIN_SCORE", -1, "must be 0 to 4 (zxcvbn scores), got -1."),
        (
            "PASSWORD_BREACH_CHECK_URL",
            "file:///etc/",
            "must be an http(s) URL that the SHA-1 prefix is appended to, "
            "got 'file:///etc/'.",
        ),
        (
            "PASSWORD_BREACH_CHECK_TIMEOUT",
            0.0,
            "must be a positive number of seconds, got 0.0.",
        ),
    ],
)
def test_bad_password_rule_is_refused_naming_it(settings, variable, value, message):
    setattr(settings, variable, value)

    errors = config_errors()

    assert errors == [f"{variable}: {message}"]


def test_unparsable_breach_check_timeout_stops_start_up_naming_it():
    result = run_python(
        "import django; django.setup()", PASSWORD_BREACH_CHECK_TIMEOUT="soon"
    )

    assert result.returncode != 0
    assert "PASSWORD_BREACH_CHECK_TIMEOUT: cannot parse 'soon'" in result.stderr


def test_unknown_jwt_algorithm_is_refused_naming_it(settings):
    settings.JWT_ALGORITHM = "HS257"

    errors = config_errors()

    assert len(errors) == 1
    assert errors[0].startswith("JWT_ALGORITHM: unknown algorithm 'HS257'")


def test_rs256_without_key_files_is_refused_naming_both_files(settings):
    settings.JWT_ALGORITHM = "RS256"

    errors = config_errors()

    assert errors == [
        "JWT_PRIVATE_KEY_FILE: is required with JWT_ALGORITHM=RS256.",
        "JWT_PUBLIC_KEY_FILE: is required with JWT_ALGORITHM=RS256.",
    ]


def test_rs256_with_a_missing_key_file_is_refused_naming_it(
    settings, rsa_key_pair, tmp_path
):
    _, public_path = rsa_key_pair
    missing = tmp_path / "nowhere.pem"
    settings.JWT_ALGORITHM = "RS256"
    settings.JWT_PRIVATE_KEY_FILE = str(missing)
    settings.JWT_PUBLIC_KEY_FILE = str(public_path)

    errors = config_errors()

    assert errors == [f"JWT_PRIVATE_KEY_FILE: no readable file at {str(missing)!r}."]


def test_rs256_with_a_file_that_is_not_a_key_is_refused_naming_it(settings, tmp_path):
    not_a_key = tmp_path / "notes.txt"
    not_a_key.write_text("this is not a PEM key\n")
    settings.JWT_ALGORITHM = "RS256"
    settings.JWT_PRIVATE_KEY_FILE = str(not_a_key)
    settings.JWT_PUBLIC_KEY_FILE = str(not_a_key)

    errors = config_errors()

    assert len(errors) == 1
    assert errors[0].startswith("JWT_PRIVATE_KEY_FILE: cannot be used with RS256")


def test_rs256_with_a_public_key_in_place_of_the_private_one_is_refused(
    settings, rsa_key_pair
):
    _, public_path = rsa_key_pair
    settings.JWT_ALGORITHM = "RS256"
    settings.JWT_PRIVATE_KEY_FILE = str(public_path)
    settings.JWT_PUBLIC_KEY_FILE = str(public_path)

    errors = config_errors()

    assert len(errors) == 1
    assert errors[0].startswith("JWT_PRIVATE_KEY_FILE: cannot be used with RS256")


def test_rs256_with_a_generated_key_pair_passes(settings, rsa_key_pair):
    private_path, public_path = rsa_key_pair
    settings.JWT_ALGORITHM = "RS256"
    settings.JWT_PRIVATE_KEY_FILE = str(private_path)
    settings.JWT_PUBLIC_KEY_FILE = str(public_path)

    errors = config_errors()

    assert errors == []


def test_hs256_with_a_short_signing_key_is_refused_naming_it(settings):
    settings.JWT_SIGNING_KEY = "too-short"

    errors = config_errors()

    assert errors == ["JWT_SIGNING_KEY: must be at least 32 characters long."]


def test_jwt_signing_key_equal_to_secret_key_without_debug_is_refused(settings):
    # What an unset JWT_SIGNING_KEY amounts to (it falls back to SECRET_KEY):
    # one leaked secret would forge tokens and sessions alike.
    settings.JWT_SIGNING_KEY = settings.SECRET_KEY

    errors = config_errors()

    assert errors == [
        "JWT_SIGNING_KEY: set a key of its own when DEBUG is off, not the SECRET_KEY."
    ]


def test_jwt_signing_key_equal_to_secret_key_with_debug_is_accepted(settings):
    settings.DEBUG = True
    settings.JWT_SIGNING_KEY = settings.SECRET_KEY

    errors = config_errors()

    assert errors == []


def test_unset_jwt_signing_key_stops_a_production_wsgi_start_naming_it():
    result = run_python(
        "import identity_site.wsgi",
        DEBUG="false",
        SECRET_KEY="a-production-secret-that-is-long-and-random-0123456789abcdef",
        JWT_SIGNING_KEY="",
        SITE_URL="https://id.example.com",
        ALLOWED_HOSTS="id.example.com",
    )

    assert result.returncode != 0
    assert "JWT_SIGNING_KEY: set a key of its own" in result.stderr


def test_rs256_needs_no_jwt_signing_key_without_debug(settings, rsa_key_pair):
    settings.JWT_ALGORITHM = "RS256"
    settings.JWT_SIGNING_KEY = settings.SECRET_KEY
    settings.JWT_PRIVATE_KEY_FILE, settings.JWT_PUBLIC_KEY_FILE = map(str, rsa_key_pair)

    errors = config_errors()

    assert errors == []


@pytest.mark.parametrize(
    ("variable", "value"),
    [("SITE_URL", "http://id.example.com"), ("FRONTEND_URL", "http://app.example")],
)
def test_plain_http_urls_without_debug_are_refused_naming_them(
    settings, variable, value
):
    setattr(settings, variable, value)

    errors = config_errors()

    assert errors == [
        f"{variable}: must be https when DEBUG is off (emailed links and cookies "
        f"would cross the network in the clear), got {value!r}."
    ]


@pytest.mark.parametrize(
    "value",
    ["http://localhost:8000", "http://127.0.0.1:8000", "http://[::1]:8000"],
)
def test_plain_http_on_loopback_without_debug_is_accepted(settings, value):
    # A load test or a smoke test on one machine: nothing crosses a network.
    settings.SITE_URL = value

    errors = config_errors()

    assert errors == []


def test_plain_http_urls_with_debug_are_accepted(settings):
    settings.DEBUG = True
    settings.SITE_URL = "http://id.example.com"
    settings.FRONTEND_URL = "http://app.example"

    errors = config_errors()

    assert errors == []


def test_development_secret_key_without_debug_is_refused_naming_it(settings):
    settings.SECRET_KEY = settings.DEVELOPMENT_SECRET_KEY

    errors = config_errors()

    assert errors == [
        "SECRET_KEY: set a secret of your own; the development key is public."
    ]


def test_development_secret_key_with_debug_is_accepted(settings):
    settings.DEBUG = True
    settings.SECRET_KEY = settings.DEVELOPMENT_SECRET_KEY

    errors = config_errors()

    assert errors == []


def test_unknown_email_verification_mode_is_refused_naming_it(settings):
    settings.EMAIL_VERIFICATION = "sometimes"

    errors = config_errors()

    assert errors == [
        "EMAIL_VERIFICATION: must be one of none, optional, mandatory; got 'sometimes'."
    ]


@pytest.mark.parametrize(
    "value",
    ["signin=10", "signin=ten/min", "signin=10/fortnight", "=10/min", "signin=0/min"],
)
def test_malformed_throttle_rates_are_refused_naming_the_variable(settings, value):
    settings.THROTTLE_RATES = value

    errors = config_errors()

    assert len(errors) == 1
    assert errors[0].startswith(f"THROTTLE_RATES: cannot read {value!r}")


def test_throttle_rates_off_is_accepted(settings):
    settings.THROTTLE_RATES = "off"

    errors = config_errors()

    assert errors == []


@pytest.mark.parametrize(
    "value", ["id.example.com", "ftp://id.example.com", "https://"]
)
def test_site_url_that_is_not_an_http_url_is_refused_naming_it(settings, value):
    settings.SITE_URL = value

    errors = config_errors()

    assert errors == [f"SITE_URL: must be an absolute http(s) URL, got {value!r}."]


def test_refuse_bad_configuration_raises_naming_every_bad_variable(settings):
    settings.ACCESS_TOKEN_EXPIRE_MINUTES = 0
    settings.EMAIL_VERIFICATION = "sometimes"

    with pytest.raises(ImproperlyConfigured) as raised:
        refuse_bad_configuration()

    assert "ACCESS_TOKEN_EXPIRE_MINUTES" in str(raised.value)
    assert "EMAIL_VERIFICATION" in str(raised.value)


def test_refuse_bad_configuration_is_silent_for_a_good_configuration():
    outcome = refuse_bad_configuration()

    assert outcome is None


# ---------------------------------------------------------------------------
# Start-up of real processes
# ---------------------------------------------------------------------------
def test_unparsable_value_stops_settings_import_naming_the_variable():
    result = run_python(
        "import django; django.setup()", ACCESS_TOKEN_EXPIRE_MINUTES="abc"
    )

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "ACCESS_TOKEN_EXPIRE_MINUTES: cannot parse 'abc'" in result.stderr


def test_wsgi_application_refuses_to_load_with_a_zero_lifetime():
    result = run_python(
        "import identity_site.wsgi", ACCESS_TOKEN_EXPIRE_MINUTES="0", DEBUG="true"
    )

    assert result.returncode != 0
    assert "ACCESS_TOKEN_EXPIRE_MINUTES: must be a positive integer" in result.stderr


def test_wsgi_application_loads_with_the_development_defaults():
    result = run_python(
        "import identity_site.wsgi", ACCESS_TOKEN_EXPIRE_MINUTES="15", DEBUG="true"
    )

    assert result.returncode == 0, result.stderr


def test_a_throttle_rate_the_throttles_cannot_read_is_refused_at_start_up(settings):
    # "²" passes str.isdigit() but not int(): accepted by a looser check, it
    # would turn every throttled request into a 500.
    settings.THROTTLE_RATES = "signin=²/min"

    errors = config_errors()

    assert errors == [
        "THROTTLE_RATES: cannot read 'signin=²/min'; write scope=N/period "
        "(period s, min, hour or day), comma-separated, or 'off'."
    ]


def test_unset_throttle_rates_mean_the_defaults(settings):
    settings.THROTTLE_RATES = ""

    errors = config_errors()

    assert errors == []


# ---------------------------------------------------------------------------
# Second factors
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["required", "", "Staff "])
def test_mfa_required_outside_none_staff_all_is_refused_naming_it(settings, value):
    settings.MFA_REQUIRED = value

    errors = config_errors()

    assert errors == [f"MFA_REQUIRED: must be none, staff or all, got {value!r}."]


@pytest.mark.parametrize("value", ["none", "staff", "all"])
def test_each_mfa_required_mode_is_accepted(settings, value):
    settings.MFA_REQUIRED = value

    assert config_errors() == []


def test_a_malformed_mfa_encryption_key_is_refused_without_showing_it(settings):
    good = Fernet.generate_key().decode()
    settings.MFA_ENCRYPTION_KEYS = [good, "not-a-fernet-key-but-a-secret"]

    errors = config_errors()

    assert len(errors) == 1
    assert errors[0].startswith("MFA_ENCRYPTION_KEYS: key 2 of 2 is not a Fernet key")
    assert "not-a-fernet-key-but-a-secret" not in errors[0]


def test_well_formed_mfa_encryption_keys_are_accepted(settings):
    settings.MFA_ENCRYPTION_KEYS = [Fernet.generate_key().decode() for _ in range(2)]

    assert config_errors() == []


# ---------------------------------------------------------------------------
# CORS with credentials (the SPA cookie transport)
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CORS_ALLOW_ALL_ORIGINS", True),
        ("CORS_ALLOWED_ORIGIN_REGEXES", [r"^https://\w+\.example\.com$"]),
        ("CORS_ALLOWED_ORIGINS", ["https://app.example.com", "null"]),
    ],
)
def test_credentials_with_an_open_ended_origin_are_refused_naming_it(
    settings, variable, value
):
    settings.CORS_ALLOW_CREDENTIALS = True
    setattr(settings, variable, value)

    errors = config_errors()

    assert len(errors) == 1
    assert errors[0].startswith(f"{variable}: ")
    assert "CORS_ALLOW_CREDENTIALS" in errors[0]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CORS_ALLOW_ALL_ORIGINS", True),
        ("CORS_ALLOWED_ORIGIN_REGEXES", [r"^https://\w+\.example\.com$"]),
    ],
)
def test_open_ended_origins_without_credentials_are_accepted(settings, variable, value):
    settings.CORS_ALLOW_CREDENTIALS = False
    setattr(settings, variable, value)

    assert config_errors() == []


def test_credentials_with_origins_listed_one_by_one_are_accepted(settings):
    settings.CORS_ALLOW_CREDENTIALS = True
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]

    assert config_errors() == []


def test_credentials_with_a_wildcard_stop_a_production_wsgi_start_naming_it():
    result = run_python(
        "import identity_site.wsgi",
        DEBUG="false",
        SECRET_KEY="a-production-secret-that-is-long-and-random-0123456789abcdef",
        JWT_SIGNING_KEY="a-production-jwt-key-that-is-long-and-random-0123456789ab",
        SITE_URL="https://id.example.com",
        ALLOWED_HOSTS="id.example.com",
        CORS_ALLOW_CREDENTIALS="true",
        CORS_ALLOW_ALL_ORIGINS="true",
    )

    assert result.returncode != 0
    assert "CORS_ALLOW_ALL_ORIGINS: is not allowed with CORS_ALLOW_CREDENTIALS" in (
        result.stderr
    )
