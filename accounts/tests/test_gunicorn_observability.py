"""The production server as deployed (gunicorn.conf.py, several workers, DEBUG
off): /metrics adds up every worker's counts, and everything written to the
log is one JSON object per line, gunicorn's own lines included."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from accounts.tests.helpers import PROJECT_ROOT, free_port, gunicorn_command

pytestmark = pytest.mark.slow

TOKEN = "gunicorn-metrics-token-0123456789"


def get(port, path, **headers):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError:
        return None, ""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    directory = tmp_path_factory.mktemp("gunicorn")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "identity_site.settings",
        "DATABASE_URL": f"sqlite:///{directory / 'db.sqlite3'}",
        "DEBUG": "false",
        "SECRET_KEY": "gunicorn-observability-test-secret-0123456789abcdef",
        "JWT_SIGNING_KEY": "gunicorn-observability-test-jwt-key-0123456789abcdef",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "METRICS_TOKEN": TOKEN,
    }
    for variable in (
        "REDIS_URL",
        "CACHE_URL",
        "LOG_FORMAT",
        "PROMETHEUS_MULTIPROC_DIR",
    ):
        env.pop(variable, None)
    for command in (["migrate", "--noinput", "-v", "0"], ["createcachetable"]):
        subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=PROJECT_ROOT,
            env=env,
            check=True,
            timeout=300,
        )
    port = free_port()
    log = directory / "stderr.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            gunicorn_command(port, workers=3),
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while get(port, "/api/v1/health")[0] != 200:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)
        yield port, log
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def health_count(port) -> float:
    status, body = get(port, "/metrics", Authorization=f"Bearer {TOKEN}")
    assert status == 200
    prefix = 'identity_http_requests_total{method="GET",status="200",view="api:health"}'
    (line,) = [line for line in body.splitlines() if line.startswith(prefix)]
    return float(line.rsplit(" ", 1)[1])


def test_every_scrape_sees_the_requests_of_every_worker(server):
    port, _ = server
    before = health_count(port)

    for _ in range(12):
        assert get(port, "/api/v1/health")[0] == 200

    assert [health_count(port) for _ in range(6)] == [before + 12] * 6


def test_readiness_answers_ok_under_gunicorn(server):
    port, _ = server

    status, body = get(port, "/api/v1/health/ready")

    assert status == 200
    assert json.loads(body)["status"] == "ok"


def test_every_log_line_is_a_json_object_with_the_request_id(server):
    port, log = server

    get(port, "/api/v1/health", **{"X-Request-ID": "trace-me-42"})

    time.sleep(0.5)
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert {"gunicorn.error", "accounts.access"} <= {line["logger"] for line in lines}
    assert [
        line
        for line in lines
        if line["logger"] == "accounts.access" and line["request_id"] == "trace-me-42"
    ]
