"""Django's PostgreSQL backend with two savings on the per-request path (issue
18): see base.DatabaseWrapper. settings.py puts it in place of
django.db.backends.postgresql."""
