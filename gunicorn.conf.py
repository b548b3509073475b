"""gunicorn settings; every value can be overridden from the environment."""

import multiprocessing
import os
import shutil
import tempfile
from pathlib import Path

# Prometheus multiprocess mode: each worker process writes its counters to files
# in this directory, and /metrics, whichever worker answers it, adds up all of
# them (without it, each scrape would see one worker's counts). It must be set
# before prometheus_client is imported, so before the application is loaded.
_metrics_dir_is_ours = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _metrics_dir_is_ours:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(
        prefix="identity-metrics-"
    )
METRICS_DIR = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
METRICS_DIR.mkdir(parents=True, exist_ok=True)

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(
    os.environ.get("WEB_CONCURRENCY", min(multiprocessing.cpu_count() * 2 + 1, 8))
)
threads = int(os.environ.get("GUNICORN_THREADS", 1))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
# On SIGTERM workers stop accepting, finish the requests in hand for up to this
# many seconds, then exit (a deploy or scale-in drops no request).
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", 30))
keepalive = 5
# gunicorn sets wsgi.url_scheme from X-Forwarded-Proto only for these addresses.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
preload_app = True
max_requests = 5000
max_requests_jitter = 500
# No runtime control socket (gunicornc): nothing here uses it, its default path
# ($HOME/.gunicorn/gunicorn.ctl) is shared by every gunicorn of the same user, and
# the container's user has no writable home.
control_socket_disable = True

# Logs: the application writes one access line per request itself
# (accounts.observability: request id, user, view, duration; the path without
# its query string), so gunicorn's access log is off; gunicorn's own lines
# (start-up, worker restarts, timeouts) use the application's format, so that
# production logs stay one JSON object per line.
_debug = os.environ.get("DEBUG", "").strip().lower() in ("1", "true", "yes", "on")
_log_format = os.environ.get("LOG_FORMAT", "").strip().lower() or (
    "text" if _debug else "json"
)
accesslog = None
logconfig_dict = {
    "loggers": {
        "gunicorn.error": {
            "level": "INFO",
            "handlers": ["error_console"],
            "propagate": False,
        },
        "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": False},
    },
    "formatters": {
        "generic": {
            "()": "accounts.observability.logs."
            + ("TextFormatter" if _log_format == "text" else "JsonFormatter")
        }
    },
}


def on_starting(server):
    """Start from an empty metrics directory: files left by an earlier run (and
    its process ids) would be added to this run's counts."""
    for kind in ("counter", "gauge", "histogram", "summary"):
        for path in METRICS_DIR.glob(f"{kind}_*.db"):
            path.unlink()


def child_exit(server, worker):
    """A worker ended (restart, max_requests, crash): drop its live gauges; its
    counters stay, as the totals they are part of."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _metrics_dir_is_ours:
        shutil.rmtree(METRICS_DIR, ignore_errors=True)
