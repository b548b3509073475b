import subprocess
import sys

import pytest
from django.conf import settings as django_settings

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/", "/api/v1/health", "/admin/login/"])
def test_every_response_carries_the_security_headers(client, path):
    response = client.get(path)

    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_cors_allows_configured_origins_on_the_api_only(client, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]

    api = client.get("/api/v1/health", HTTP_ORIGIN="https://app.example.com")
    page = client.get("/", HTTP_ORIGIN="https://app.example.com")
    other = client.get("/api/v1/health", HTTP_ORIGIN="https://evil.example")

    assert api["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "Access-Control-Allow-Credentials" not in api
    assert "Access-Control-Allow-Origin" not in page
    assert "Access-Control-Allow-Origin" not in other


def test_deploy_check_is_clean_with_production_settings(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "identity_site.settings",
        "DEBUG": "false",
        "SECRET_KEY": "a-production-secret-that-is-long-and-random-0123456789abcdef",
        "JWT_SIGNING_KEY": "a-production-jwt-key-that-is-long-and-random-0123456789ab",
        "ALLOWED_HOSTS": "id.example.com",
        "SITE_URL": "https://id.example.com",
    }

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_production_cookies_are_secure_host_only_and_http_only():
    # Read from a fresh interpreter: the test run itself is not production.
    code = (
        "import django;django.setup();from django.conf import settings as s;"
        "print(s.SESSION_COOKIE_NAME, s.CSRF_COOKIE_NAME, s.SESSION_COOKIE_SECURE,"
        " s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, s.SESSION_COOKIE_SAMESITE,"
        " s.SECURE_HSTS_SECONDS > 0, s.SECURE_SSL_REDIRECT)"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "identity_site.settings",
        "DEBUG": "false",
        "SECRET_KEY": "x" * 60,
    }

    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=str(django_settings.BASE_DIR),
    ).stdout.split()

    assert out == [
        "__Host-sessionid",
        "__Host-csrftoken",
        "True",
        "True",
        "True",
        "Lax",
        "True",
        "True",
    ]
