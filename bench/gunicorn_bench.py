"""gunicorn settings for `make bench` (python -m bench passes --bind).

Chosen for the benchmark machine (2 cores) by measurement; see the README's
Performance section. Differences from gunicorn.conf.py, and why:
- gthread workers: HTTP keep-alive, as behind a real load balancer, so wrk
  measures requests and not TCP handshakes; threads overlap database waits, and
  Argon2 (argon2-cffi releases the GIL) can hash on both cores from one process.
- no max_requests: a worker recycled mid-run would hide memory growth from the
  peak-RSS figure.
- no access log: one line per request to a pipe costs throughput the service
  would not spend behind a proxy that logs.
"""

import multiprocessing
import os

worker_class = "gthread"
# Overridable for experiments (the figures record what was used).
workers = int(os.environ.get("BENCH_GUNICORN_WORKERS", multiprocessing.cpu_count()))
threads = int(os.environ.get("BENCH_GUNICORN_THREADS", 2))
keepalive = 30
timeout = 60
graceful_timeout = 5
preload_app = True
accesslog = None
max_requests = 0
