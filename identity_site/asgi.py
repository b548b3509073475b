"""ASGI entry point (the service is deployed with gunicorn/WSGI; kept for tooling)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "identity_site.settings")

application = get_asgi_application()

from accounts.checks import refuse_bad_configuration  # noqa: E402

refuse_bad_configuration()
