"""The service under test: its database, its environment, gunicorn and the task
worker, each started in a process group of its own so that stopping it stops
every process it forked, whatever happens to the run."""

import hashlib
import os
import runpy
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bench.machine import descendants, snapshot

ROOT = Path(__file__).resolve().parent.parent
GUNICORN_CONFIG = ROOT / "gunicorn.conf.py"
HOST = "127.0.0.1"
# Variables of the caller's environment that would point the service somewhere
# else than the benchmark's own database, cache and mail sink.
CLEARED = (
    "DATABASE_URL",
    "CACHE_URL",
    "REDIS_URL",
    "EMAIL_URL",
    "DJANGO_SETTINGS_MODULE",
    "WEB_CONCURRENCY",
    "GUNICORN_CMD_ARGS",
    "GUNICORN_BIND",
    "GUNICORN_THREADS",
    "GUNICORN_TIMEOUT",
    "GUNICORN_GRACEFUL_TIMEOUT",
    "PROMETHEUS_MULTIPROC_DIR",
    "LOG_FORMAT",
    "CONN_MAX_AGE",
    "SECRET_KEY",
    "DEBUG",
)
# Marks every process of one run, so a test can prove none outlived it.
RUN_ID_VARIABLE = "BENCH_RUN_ID"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


@dataclass
class Database:
    """A database of the benchmark's own: created empty, dropped afterwards."""

    engine: str  # "postgresql" or "sqlite"
    url: str
    admin_url: str = ""
    name: str = ""

    @classmethod
    def postgresql(cls, admin_url: str, name: str) -> "Database":
        base = admin_url.rsplit("/", 1)[0]
        return cls("postgresql", f"{base}/{name}", admin_url=admin_url, name=name)

    @classmethod
    def sqlite(cls, path: Path) -> "Database":
        return cls("sqlite", f"sqlite:///{path}", name=str(path))

    def create(self) -> None:
        if self.engine == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(self.name + suffix).unlink(missing_ok=True)
            return
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        if self.engine == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(self.name + suffix).unlink(missing_ok=True)
            return
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def version(self) -> str:
        if self.engine == "sqlite":
            import sqlite3

            return f"SQLite {sqlite3.sqlite_version}"
        import psycopg

        with psycopg.connect(self.admin_url) as admin:
            return admin.execute("SHOW server_version").fetchone()[0]


def redis_url_if_reachable(url: str) -> str:
    """The Redis URL when a server answers there, else "" (the database cache)."""
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
    except Exception:
        return ""
    return url


def service_environment(
    *,
    database: Database,
    port: int,
    smtp_port: int,
    redis_url: str,
    run_id: str,
    workers: int,
) -> dict[str, str]:
    """The configuration of the service under test, as an operator would set it
    for a load test on loopback: production mode, throttles off, a throwaway key,
    and gunicorn.conf.py's own variables for the address and the worker count."""
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "identity_site.settings",
            "DEBUG": "false",
            "SECRET_KEY": "bench-" + secrets.token_urlsafe(48),
            # Production mode refuses a JWT key that is the SECRET_KEY.
            "JWT_SIGNING_KEY": "bench-jwt-" + secrets.token_urlsafe(48),
            "ALLOWED_HOSTS": HOST,
            "SITE_URL": f"http://{HOST}:{port}",
            "SECURE_SSL_REDIRECT": "false",
            "THROTTLE_RATES": "off",
            "BENCH_ENDPOINTS": "true",
            "DATABASE_URL": database.url,
            "EMAIL_URL": f"smtp://{HOST}:{smtp_port}",
            "EMAIL_VERIFICATION": "optional",
            "JWT_ALGORITHM": "HS256",
            # Tokens minted during preparation must outlive the whole run.
            "ACCESS_TOKEN_EXPIRE_MINUTES": "120",
            # Security events still log (their logger is pinned at INFO); the
            # per-request access line does not (see the README's Performance).
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            "GUNICORN_BIND": f"{HOST}:{port}",
            "WEB_CONCURRENCY": str(workers),
            RUN_ID_VARIABLE: run_id,
        }
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    else:
        env["CACHE_URL"] = "dbcache://identity_cache"
    return env


def manage(env: dict[str, str], *args: str, log: Path | None = None) -> str:
    """Run a management command to completion; its output, or an error with it."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if log is not None:
        with log.open("a") as out:
            out.write(f"$ manage.py {' '.join(args)}\n{result.stdout}{result.stderr}")
    if result.returncode != 0:
        raise RuntimeError(
            f"manage.py {' '.join(args)} failed:\n{result.stdout}{result.stderr}"
        )
    return result.stdout


@dataclass
class Group:
    """One started process and everything it forks (its own session and group)."""

    name: str
    process: subprocess.Popen
    log: Path

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, grace: float = 10.0) -> None:
        if self.process.poll() is None:
            _signal_group(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        # The leader may be gone while children it forked linger: the group is
        # signalled regardless.
        _signal_group(self.process.pid, signal.SIGKILL)
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def start_group(name: str, command: list[str], env, log: Path, cwd=ROOT) -> Group:
    with log.open("wb") as out:  # a run's logs replace the last run's
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Group(name, process, log)


@dataclass
class Server:
    """One target of the benchmark: a gunicorn (its master is the first group)
    and the processes that go with it (the service's task worker), started
    together and stopped together.

    `name` is the target ("ours", "djoser", "bare"); `health_path` answers once
    the workers serve (any status below 500 when `any_status`)."""

    name: str
    command: list[str]
    env: dict[str, str]
    port: int
    work_dir: Path
    health_path: str
    cwd: Path = ROOT
    any_status: bool = False
    companions: list[tuple[str, list[str]]] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        self.groups.append(
            start_group(
                "gunicorn" if self.name == "ours" else f"{self.name}-gunicorn",
                self.command,
                self.env,
                self.work_dir / f"{self.name}-gunicorn.log",
                cwd=self.cwd,
            )
        )
        for name, command in self.companions:
            self.groups.append(
                start_group(
                    name, command, self.env, self.work_dir / f"{name}.log", self.cwd
                )
            )
        self._wait_until_healthy(timeout)

    def _wait_until_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for group in self.groups:
                if not group.alive():
                    raise RuntimeError(
                        f"{group.name} exited during start-up:\n{group.log_tail()}"
                    )
            try:
                with urllib.request.urlopen(  # noqa: S310 (loopback, http)
                    self.base_url + self.health_path, timeout=2
                ) as response:
                    if response.status == 200:
                        return
            except urllib.error.HTTPError as exc:
                if self.any_status and exc.code < 500:
                    return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise RuntimeError(
            f"{self.name} did not answer within {timeout:.0f} s:\n"
            f"{self.groups[0].log_tail()}"
        )

    def stop(self) -> None:
        for group in reversed(self.groups):
            group.stop()

    def check_running(self) -> None:
        for group in self.groups:
            if not group.alive():
                raise RuntimeError(f"{group.name} died:\n{group.log_tail()}")

    def worker_pids(self) -> list[int]:
        """gunicorn's workers: the children of its master process."""
        master = self.groups[0].process.pid
        _, processes = snapshot()
        return [pid for pid, (parent, _, _) in processes.items() if parent == master]

    def roles(self, processes: dict) -> dict[str, set[int]]:
        """Which processes are gunicorn (master and workers) and the task worker."""
        return {
            group.name: descendants(processes, group.process.pid)
            for group in self.groups
        }


# Kept for the scenarios' type hints: the service is one Server among others.
Service = Server


def our_service(env: dict[str, str], port: int, work_dir: Path) -> Server:
    """The service as the README deploys it: `gunicorn identity_site.wsgi -c
    gunicorn.conf.py` (the repository's own configuration; the port and the
    worker count through the variables it reads, GUNICORN_BIND and
    WEB_CONCURRENCY, set in service_environment) and the task worker."""
    return Server(
        name="ours",
        command=[
            sys.executable,
            "-m",
            "gunicorn",
            "identity_site.wsgi",
            "-c",
            str(GUNICORN_CONFIG),
        ],
        env=env,
        port=port,
        work_dir=work_dir,
        health_path="/api/v1/health",
        companions=[
            ("worker", [sys.executable, "manage.py", "db_worker", "--no-reload"])
        ],
    )


def shipped_gunicorn_settings(workers: int, work_dir: Path) -> dict:
    """The settings gunicorn.conf.py gives, with `workers` (WEB_CONCURRENCY)
    as the benchmark sets it: read from the file itself, so that the references
    are served like the service even after that file changes."""
    saved = dict(os.environ)
    metrics = work_dir / "config-probe-metrics"
    try:
        os.environ["WEB_CONCURRENCY"] = str(workers)
        os.environ.pop("GUNICORN_THREADS", None)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics)  # no stray temp dir
        found = runpy.run_path(str(GUNICORN_CONFIG))
    finally:
        os.environ.clear()
        os.environ.update(saved)
        shutil.rmtree(metrics, ignore_errors=True)
    return {
        "worker_class": found.get("worker_class", "sync"),
        "workers": found["workers"],
        "threads": found.get("threads", 1),
        "preload_app": found.get("preload_app", False),
        "timeout": found.get("timeout", 30),
        "keepalive": found.get("keepalive", 2),
        "max_requests": found.get("max_requests", 0),
        "max_requests_jitter": found.get("max_requests_jitter", 0),
    }


def _reference_gunicorn_args(settings: dict, port: int) -> list[str]:
    """Command-line flags giving a reference the service's gunicorn settings
    (not its configuration file: that one loads the service's log formatter and
    Prometheus hooks, which a reference has not got)."""
    args = [
        f"--bind={HOST}:{port}",
        f"--workers={settings['workers']}",
        f"--worker-class={settings['worker_class']}",
        f"--threads={settings['threads']}",
        f"--timeout={settings['timeout']}",
        f"--keep-alive={settings['keepalive']}",
        f"--max-requests={settings['max_requests']}",
        f"--max-requests-jitter={settings['max_requests_jitter']}",
    ]
    if settings["preload_app"]:
        args.append("--preload")
    return args


def _reference_environment(run_id: str, **variables: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.pop("VIRTUAL_ENV", None)
    env.update(
        {
            "PYTHONUNBUFFERED": "1",
            "SECRET_KEY": "bench-ref-" + secrets.token_urlsafe(48),
            RUN_ID_VARIABLE: run_id,
            **variables,
        }
    )
    return env


def bare(settings: dict, port: int, work_dir: Path, run_id: str) -> Server:
    """bench/bare/: Django with no app, no middleware, no database."""
    return Server(
        name="bare",
        command=[
            sys.executable,
            "-m",
            "gunicorn",
            "bench.bare.wsgi",
            *_reference_gunicorn_args(settings, port),
        ],
        env=_reference_environment(
            run_id, DJANGO_SETTINGS_MODULE="bench.bare.settings"
        ),
        port=port,
        work_dir=work_dir,
        health_path="/",
    )


DJOSER_DIR = Path(__file__).resolve().parent / "djoser_ref"


@dataclass
class Djoser:
    """The djoser reference's virtualenv, database and manage.py."""

    venv: Path
    database: Database
    run_id: str
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        self.env = _reference_environment(
            self.run_id,
            DJANGO_SETTINGS_MODULE="refsite.settings",
            DATABASE_URL=self.database.url,
        )

    @property
    def python(self) -> str:
        return str(self.venv / "bin" / "python")

    def ensure_venv(self, log: Path) -> None:
        """Build the virtualenv from bench/djoser_ref/requirements.txt, unless
        one built from the same file is there."""
        requirements = DJOSER_DIR / "requirements.txt"
        digest = hashlib.sha256(requirements.read_bytes()).hexdigest()
        stamp = self.venv / ".requirements-sha256"
        if stamp.exists() and stamp.read_text().strip() == digest:
            return
        print(f"  building {self.venv} (djoser reference) ...", flush=True)
        shutil.rmtree(self.venv, ignore_errors=True)
        self.venv.parent.mkdir(parents=True, exist_ok=True)
        for command in (
            [sys.executable, "-m", "venv", str(self.venv)],
            [
                self.python,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
                str(requirements),
            ],
        ):
            _run(command, log, cwd=DJOSER_DIR, env=None)
        stamp.write_text(digest + "\n")

    def manage(self, *args: str, log: Path | None = None) -> str:
        return _run(
            [self.python, "manage.py", *args], log, cwd=DJOSER_DIR, env=self.env
        )

    def server(self, settings: dict, port: int, work_dir: Path) -> Server:
        return Server(
            name="djoser",
            command=[
                self.python,
                "-m",
                "gunicorn",
                "refsite.wsgi",
                *_reference_gunicorn_args(settings, port),
            ],
            env=self.env,
            port=port,
            work_dir=work_dir,
            cwd=DJOSER_DIR,
            # 401 without a token: the workers are up.
            health_path="/auth/users/me/",
            any_status=True,
        )


def _run(command: list[str], log: Path | None, *, cwd: Path, env) -> str:
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=900
    )
    if log is not None:
        with log.open("a") as out:
            out.write(f"$ {' '.join(command)}\n{result.stdout}{result.stderr}")
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} failed:\n{result.stdout[-3000:]}"
            f"{result.stderr[-3000:]}"
        )
    return result.stdout


def peak_rss_mib(pid: int) -> float | None:
    """VmHWM: the most resident memory the process has ever had."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def processes_with_run_id(run_id: str) -> list[int]:
    """Processes whose environment carries this run's id (for the smoke test)."""
    marker = f"{RUN_ID_VARIABLE}={run_id}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker in environ.split(b"\0"):
            found.append(int(entry.name))
    return found
