"""Two gunicorn servers sharing one PostgreSQL database and one Redis: throttle
counts and token revocation must hold across processes, as in a scaled-out
deployment."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import psycopg
import pytest
import redis

from accounts.tests.helpers import PROJECT_ROOT, free_port, gunicorn_command

pytestmark = pytest.mark.slow

PG = "postgres://postgres@127.0.0.1:5432"
DATABASE = f"identity_multiprocess_test_{os.getpid()}"  # concurrent runs stay apart
REDIS_URL = "redis://127.0.0.1:6379/14"


def call(port, method, path, body=None, token=None):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


@pytest.fixture(scope="module")
def servers():
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
    redis.Redis.from_url(REDIS_URL).flushdb()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "identity_site.settings",
        "DATABASE_URL": f"{PG}/{DATABASE}",
        "REDIS_URL": REDIS_URL,
        "DEBUG": "false",
        "SECRET_KEY": "multiprocess-test-secret-key-0123456789abcdefghijklmnop",
        "JWT_SIGNING_KEY": "multiprocess-test-jwt-signing-key-0123456789abcdefghij",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "THROTTLE_RATES": "signin=10/hour,signup=100/hour",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=PROJECT_ROOT,
        env=env,
        check=True,
        timeout=300,
    )
    ports = [free_port(), free_port()]
    processes = [
        subprocess.Popen(
            gunicorn_command(port, workers=1, extra=["--access-logfile", "/dev/null"]),
            cwd=PROJECT_ROOT,
            env=env,
            start_new_session=True,
        )
        for port in ports
    ]
    try:
        deadline = time.monotonic() + 60
        for port in ports:
            while call_quietly(port) != 200:
                assert time.monotonic() < deadline, "servers did not start"
                time.sleep(0.3)
        yield ports
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            process.wait(timeout=30)
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


def call_quietly(port):
    try:
        return call(port, "GET", "/api/v1/health")[0]
    except OSError:
        return None


def test_signout_all_on_one_server_revokes_tokens_used_on_the_other(servers):
    a, b = servers
    account = {
        "email": "mp@example.com",
        "username": "mp",
        "password": "a long passphrase 1",
    }
    status, _ = call(a, "POST", "/api/v1/auth/signup", account)
    assert status == 201
    _, on_b = call(
        b,
        "POST",
        "/api/v1/auth/signin",
        {"email": account["email"], "password": account["password"]},
    )
    _, on_a = call(
        a,
        "POST",
        "/api/v1/auth/signin",
        {"email": account["email"], "password": account["password"]},
    )
    assert call(b, "GET", "/api/v1/users/me", token=on_b["access_token"])[0] == 200

    assert (
        call(a, "POST", "/api/v1/auth/signout-all", token=on_a["access_token"])[0]
        == 204
    )

    assert call(b, "GET", "/api/v1/users/me", token=on_b["access_token"])[0] == 401
    refreshed = call(
        b,
        "POST",
        "/api/v1/auth/token/refresh",
        {"refresh_token": on_b["refresh_token"]},
    )
    assert refreshed[0] == 401


def test_signin_throttle_is_counted_across_both_servers(servers):
    a, b = servers
    redis.Redis.from_url(REDIS_URL).flushdb()  # a fresh window for this client
    wrong = {"email": "target@example.com", "password": "wrong guess"}

    codes = [
        call(a if i % 2 else b, "POST", "/api/v1/auth/signin", wrong)[0]
        for i in range(10)
    ]
    eleventh = call(a, "POST", "/api/v1/auth/signin", wrong)

    assert codes == [401] * 10
    assert eleventh[0] == 429
