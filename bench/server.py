"""The service under test: its database, its environment, gunicorn and the task
worker, each started in a process group of its own so that stopping it stops
every process it forked, whatever happens to the run."""

import os
import secrets
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
GUNICORN_CONFIG = Path(__file__).resolve().parent / "gunicorn_bench.py"
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
    *, database: Database, port: int, smtp_port: int, redis_url: str, run_id: str
) -> dict[str, str]:
    """The configuration of the service under test, as an operator would set it
    for a load test on loopback: production mode, throttles off, a throwaway key."""
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


def start_group(name: str, command: list[str], env, log: Path) -> Group:
    with log.open("wb") as out:  # a run's logs replace the last run's
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Group(name, process, log)


@dataclass
class Service:
    """gunicorn (bench/gunicorn_bench.py) and one task worker, started together."""

    env: dict[str, str]
    port: int
    work_dir: Path
    groups: list[Group] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        self.groups.append(
            start_group(
                "gunicorn",
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "identity_site.wsgi",
                    "--config",
                    str(GUNICORN_CONFIG),
                    "--bind",
                    f"{HOST}:{self.port}",
                ],
                self.env,
                self.work_dir / "gunicorn.log",
            )
        )
        self.groups.append(
            start_group(
                "worker",
                [sys.executable, "manage.py", "db_worker", "--no-reload"],
                self.env,
                self.work_dir / "worker.log",
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
                    f"{self.base_url}/api/v1/health", timeout=2
                ) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise RuntimeError(
            f"the service did not answer within {timeout:.0f} s:\n"
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
