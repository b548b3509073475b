"""WSGI entry point for gunicorn.

System checks run here too: gunicorn does not run them itself, and a bad
configuration value must stop start-up with its name, not surface as a 500.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "identity_site.settings")

application = get_wsgi_application()

from accounts.checks import refuse_bad_configuration  # noqa: E402

refuse_bad_configuration()
