"""gunicorn settings for `make bench` (python -m bench passes --bind).

Chosen for the benchmark machine (2 cores) by measurement; see the README's
Performance section. Differences from gunicorn.conf.py, and why:
- sync workers, two per core (as gunicorn.conf.py runs production): an earlier
  gthread setup let one worker take all of wrk's keep-alive connections and
  leave the other core idle, so figures jumped between runs. Sync workers close
  each connection, so every scenario (ceiling included) pays a TCP handshake on
  loopback alike; two per core overlap database waits.
- no max_requests: a worker recycled mid-run would hide memory growth from the
  peak-RSS figure.
- no access log: one line per request to a pipe costs throughput the service
  would not spend behind a proxy that logs.
"""

import multiprocessing
import os

worker_class = "sync"
# Overridable for experiments (the figures record what was used).
workers = int(os.environ.get("BENCH_GUNICORN_WORKERS", 2 * multiprocessing.cpu_count()))
threads = int(os.environ.get("BENCH_GUNICORN_THREADS", 1))
timeout = 60
graceful_timeout = 5
preload_app = True
accesslog = None
max_requests = 0
