"""WSGI entry point for gunicorn.

System checks run here too: gunicorn does not run them itself, and a bad
configuration value must stop start-up with its name, not surface as a 500.

The URLconf, and through it every view, serializer and DRF module, is loaded
here as well: with preload_app this runs once in the process gunicorn forks
its workers from, so a worker that replaces one retired by max_requests
answers its first request without ~100 ms of imports (at 2,000 requests a
second, a retirement every few seconds: a few per cent of the throughput).
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "identity_site.settings")

application = get_wsgi_application()

from accounts.checks import refuse_bad_configuration  # noqa: E402

refuse_bad_configuration()

from django.urls import get_resolver  # noqa: E402

_patterns = get_resolver().reverse_dict  # imports the URLconf, compiles its patterns
