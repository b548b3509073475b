"""gunicorn settings; every value can be overridden from the environment."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(
    os.environ.get("WEB_CONCURRENCY", min(multiprocessing.cpu_count() * 2 + 1, 8))
)
threads = int(os.environ.get("GUNICORN_THREADS", 1))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", 30))
keepalive = 5
# gunicorn sets wsgi.url_scheme from X-Forwarded-Proto only for these addresses.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-"
preload_app = True
max_requests = 5000
max_requests_jitter = 500
# No runtime control socket (gunicornc): nothing here uses it, its default path
# ($HOME/.gunicorn/gunicorn.ctl) is shared by every gunicorn of the same user, and
# the container's user has no writable home.
control_socket_disable = True
