"""Load benchmarks of the identity service (`make bench`, `python -m bench`).

Not part of the test run: bench/ starts a real gunicorn, a task worker, a mail
sink and wrk on this machine, measures, and writes bench/results/<date>.json.
Modules: server (database, service processes), smtp (delayed mail sink), load
(wrk), population (seeded data and tokens), hashing (hasher capacity), machine
(CPU accounting), profile (py-spy), scenarios, report; gunicorn_bench is the
server's configuration, views the ceiling view, lua/ the wrk scripts.
"""
