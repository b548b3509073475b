"""The site's own error pages (with DEBUG off), and their JSON twins under /api/.

identity_site.urls names these as Django's handler400/403/404/500 and settings
name csrf_failure as CSRF_FAILURE_VIEW. A page says what happened and where to
go next in the site's look; neither door ever shows the path asked for, the
exception or Django's reason text (information leakage: paths, settings and
stack details help an attacker map the service). The details go to the log.
"""

import logging
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import requires_csrf_token

from accounts.errors import Throttled

logger = logging.getLogger(__name__)

# Under these prefixes clients expect JSON in DRF's shape, not a page.
JSON_PREFIXES = ("/api/", "/.well-known/")
JSON_DETAIL = {
    400: "Bad request.",
    403: "You do not have permission to perform this action.",
    404: "Not found.",
    500: "A server error occurred.",
}
CSRF_DETAIL = "CSRF verification failed."
# The last resort when even the 500 template cannot be rendered.
BARE_500 = (
    "<!doctype html><title>Server error</title>"
    "<h1>Something went wrong</h1><p>Please try again in a moment.</p>"
)


def _wants_json(request) -> bool:
    return request.path.startswith(JSON_PREFIXES)


def _json(detail: str, status: int) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status)


@requires_csrf_token
def bad_request(request, exception=None):
    if _wants_json(request):
        return _json(JSON_DETAIL[400], 400)
    return render(request, "400.html", status=400)


@requires_csrf_token
def permission_denied(request, exception=None):
    if _wants_json(request):
        return _json(JSON_DETAIL[403], 403)
    return render(request, "403.html", status=403)


@requires_csrf_token
def page_not_found(request, exception=None):
    if _wants_json(request):
        return _json(JSON_DETAIL[404], 404)
    return render(request, "404.html", status=404)


def server_error(request):
    """Rendered without the request's context processors: the failure may be the
    database or the session store, and the page must not need them."""
    if _wants_json(request):
        return _json(JSON_DETAIL[500], 500)
    context = {
        "site_name": settings.SITE_NAME,
        "reference": getattr(request, "request_id", ""),
    }
    try:
        body = loader.get_template("500.html").render(context)
    except Exception:
        logger.exception("the 500 page could not be rendered")
        body = BARE_500
    return HttpResponse(body, status=500)


def csrf_failure(request, reason=""):
    """A form posted with a missing or stale CSRF token (an old tab, a session
    that ended, cookies cleared): offer the way back to a fresh copy of the form.
    Django has already logged the reason."""
    if _wants_json(request):
        return _json(CSRF_DETAIL, 403)
    return render(
        request,
        "403_csrf.html",
        {"back": _same_site_referer(request) or "/"},
        status=403,
    )


def _same_site_referer(request) -> str | None:
    """The path of the page the form was on, when the Referer is this site;
    never another site's address (the link must not become an open redirect)."""
    referer = request.headers.get("Referer", "")
    if not referer or not url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return None
    parts = urlsplit(referer)
    if not parts.netloc:
        return None
    path = urlunsplit(("", "", parts.path or "/", parts.query, ""))
    # "//host/..." would read as another host once the scheme and host are gone.
    if not url_has_allowed_host_and_scheme(path, allowed_hosts=None):
        return None
    return path


def too_many_requests(request, error: Throttled, *, link: bool = False):
    """The 429 page for a throttled form or emailed link: when to try again,
    and the way back (to the form; for a link, to the home page, since the link
    itself is what was refused). Retry-After tells scripts and browsers the
    same."""
    response = render(
        request,
        "429.html",
        {"message": error.message, "back": request.path, "link": link},
        status=429,
    )
    response["Retry-After"] = str(error.retry_after)
    return response
