"""PASSWORD_BREACH_CHECK against a local stand-in for the Pwned Passwords range API."""

import hashlib
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.conf import settings as django_settings

from accounts.models import User
from accounts.tests.helpers import SIGNUP

pytestmark = pytest.mark.django_db

BREACHED = "plum kettle orbit seventeen"
CLEAN = "walnut harbour lantern ninety"
PADDING = [f"{n:035X}:0" for n in range(1, 400)]


def sha1(password: str) -> str:
    return hashlib.sha1(password.encode(), usedforsecurity=False).hexdigest().upper()


class RangeServer:
    """A real HTTP server on 127.0.0.1 that answers range queries from `corpus`
    (full SHA-1 -> count) with padding, and records what it was asked."""

    def __init__(self):
        self.corpus: dict[str, int] = {}
        self.delay = 0.0
        self.requests: list[tuple[str, dict]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append((self.path, dict(self.headers)))
                time.sleep(server.delay)
                prefix = self.path.rsplit("/", 1)[-1]
                lines = [
                    f"{digest[5:]}:{count}"
                    for digest, count in server.corpus.items()
                    if digest.startswith(prefix)
                ]
                body = "\r\n".join([*lines, *PADDING]).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/range/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def range_server():
    server = RangeServer()
    yield server
    server.stop()


@pytest.fixture
def breach_check(settings, range_server):
    """PASSWORD_BREACH_CHECK=true as settings.py applies it, pointed at the fake."""
    settings.PASSWORD_BREACH_CHECK = True
    settings.AUTH_PASSWORD_VALIDATORS = [
        *django_settings.AUTH_PASSWORD_VALIDATORS,
        {"NAME": "accounts.validators.BreachedPasswordValidator"},
    ]
    settings.PASSWORD_BREACH_CHECK_URL = range_server.url
    settings.PASSWORD_BREACH_CHECK_TIMEOUT = 0.5
    return range_server


def signup(api_client, password):
    body = {"email": "ada@example.com", "username": "ada", "password": password}
    return api_client.post(SIGNUP, body, format="json")


def test_a_breached_password_is_refused_and_only_a_prefix_leaves(
    api_client, breach_check
):
    breach_check.corpus[sha1(BREACHED)] = 42

    response = signup(api_client, BREACHED)

    assert response.status_code == 400
    assert response.json() == {
        "password": [
            "This password has appeared in a data breach, so attackers try it "
            "first. Choose another."
        ]
    }
    assert not User.objects.exists()
    [(path, headers)] = breach_check.requests
    assert path == f"/range/{sha1(BREACHED)[:5]}"
    assert headers["Add-Padding"] == "true"


def test_a_password_not_in_the_corpus_is_accepted(api_client, breach_check):
    breach_check.corpus[sha1(BREACHED)] = 42

    response = signup(api_client, CLEAN)

    assert response.status_code == 201
    assert len(breach_check.requests) == 1


def test_a_padding_entry_with_a_count_of_zero_is_not_a_breach(api_client, breach_check):
    breach_check.corpus[sha1(CLEAN)] = 0

    response = signup(api_client, CLEAN)

    assert response.status_code == 201


def test_a_slow_service_lets_the_password_through_with_a_warning(
    api_client, breach_check, caplog
):
    breach_check.corpus[sha1(BREACHED)] = 42
    breach_check.delay = 2

    with caplog.at_level(logging.WARNING, logger="accounts.security"):
        started = time.monotonic()
        response = signup(api_client, BREACHED)
        elapsed = time.monotonic() - started

    assert response.status_code == 201
    assert elapsed < 1.5
    assert_one_warning_without_the_password(caplog, BREACHED)


def test_a_service_that_is_down_lets_the_password_through_with_a_warning(
    api_client, breach_check, caplog
):
    breach_check.stop()

    with caplog.at_level(logging.WARNING, logger="accounts.security"):
        response = signup(api_client, BREACHED)

    assert response.status_code == 201
    assert_one_warning_without_the_password(caplog, BREACHED)


def test_the_check_is_off_by_default(api_client, settings, range_server):
    settings.PASSWORD_BREACH_CHECK_URL = range_server.url
    range_server.corpus[sha1(BREACHED)] = 42

    response = signup(api_client, BREACHED)

    assert django_settings.PASSWORD_BREACH_CHECK is False
    assert response.status_code == 201
    assert range_server.requests == []


def assert_one_warning_without_the_password(caplog, password):
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    text = warnings[0].getMessage()
    assert "breached-password check unavailable" in text
    digest = sha1(password)
    for secret in (password, digest, digest[:5], digest.lower()[:5]):
        assert secret not in text
        assert secret not in str(warnings[0].__dict__)
