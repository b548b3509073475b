"""Load benchmarks of the identity service (`make bench`, `python -m bench`).

Not part of the test run: bench/ starts a real gunicorn (with the repository's
gunicorn.conf.py), a task worker, a mail sink, the references (bare/: Django
with nothing in it; djoser_ref/: stock djoser + simplejwt in a virtualenv of its
own) and wrk on this machine, measures, and writes bench/results/<date>.json.
Modules: server (databases, the service's and the references' processes), smtp
(delayed mail sink), load (wrk), population (seeded data and tokens), hashing
(hasher capacity), machine (CPU accounting), profile (py-spy), scenarios,
report; views the ceiling view, lua/ the wrk scripts.
"""
