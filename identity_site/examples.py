"""Serves the example SPA (examples/spa/) at /examples/spa/ while EXAMPLE_SPA
is on (default: DEBUG), so `make run` shows SPA authors a working cookie
session on the service's own origin. Off, it is a plain 404.

Only the two named files are served, never a path from the URL, and under the
site's CSP: the page has no inline script or style."""

from django.conf import settings
from django.http import FileResponse, Http404

EXAMPLE_DIR = settings.BASE_DIR / "examples" / "spa"
FILES = {
    "": ("index.html", "text/html; charset=utf-8"),
    "app.js": ("app.js", "text/javascript; charset=utf-8"),
}


def example_spa(request, name=""):
    if not settings.EXAMPLE_SPA or name not in FILES:
        raise Http404()
    filename, content_type = FILES[name]
    response = FileResponse(
        (EXAMPLE_DIR / filename).open("rb"), content_type=content_type
    )
    # Always the current file while someone edits the example.
    response["Cache-Control"] = "no-cache"
    return response
