"""The cookie transport of refresh tokens, for SPAs on the service's own site.

A sign-in that carries `X-Token-Transport: cookie` starts a session whose
refresh tokens only ever travel in an HttpOnly cookie, so script on the page
(an XSS included) can use the session but never carry its refresh token away.
The session row records the choice (TokenSession.transport); every answer that
issues a refresh token of such a session sets the cookie instead of the body.

The cookie is read only when a request carries the header. A browser sends a
custom header across sites only after a CORS preflight, which refuses origins
that are not listed; and the Origin check below refuses whatever gets through
without a browser. SameSite=Strict keeps the cookie off cross-site requests
anyway: three locks on one door, so no CSRF token is needed.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied

from accounts.models import TokenSession

HEADER = "X-Token-Transport"
_META_HEADER = "HTTP_X_TOKEN_TRANSPORT"
COOKIE = TokenSession.Transport.COOKIE
BODY = TokenSession.Transport.BODY
# Path=/ (the __Host- prefix requires it) sends the cookie with every request
# to the service; only refresh and signout ever read it, and only with HEADER.
SECURE_COOKIE_NAME = "__Host-identity_refresh"
PLAIN_COOKIE_NAME = "identity_refresh"
_DEFAULT_PORTS = {"http": 80, "https": 443}


def cookie_name() -> str:
    """`__Host-` needs Secure, which a plain-http development site cannot set."""
    if settings.SITE_URL.lower().startswith("https://"):
        return SECURE_COOKIE_NAME
    return PLAIN_COOKIE_NAME


def requested(request) -> str:
    """The transport a request asks for: `cookie` with the header (after the
    Origin check), otherwise `body`. An unknown value is a 400, so a typo
    never silently falls back to putting the refresh token in the body."""
    value = request.META.get(_META_HEADER, "").strip().lower()
    if value in ("", BODY):
        return BODY
    if value != COOKIE:
        raise serializers.ValidationError(
            {"detail": f"{HEADER} must be 'cookie' or 'body'."}, code="invalid"
        )
    if _origin(request.META.get("HTTP_ORIGIN", "")) not in allowed_origins():
        raise PermissionDenied(
            f"{HEADER}: cookie needs an Origin header naming SITE_URL, "
            "FRONTEND_URL or an origin in CORS_ALLOWED_ORIGINS."
        )
    return COOKIE


def refuse_body_token(request) -> None:
    """With the cookie transport the refresh token comes from the cookie only;
    one in the body means the client mixed up transports (400)."""
    if isinstance(request.data, dict) and "refresh_token" in request.data:
        raise serializers.ValidationError(
            {
                "refresh_token": [
                    f"Not allowed with {HEADER}: cookie; the refresh token "
                    "travels in the cookie."
                ]
            },
            code="not_allowed",
        )


def cookie_token(request) -> str:
    return request.COOKIES.get(cookie_name(), "")


def allowed_origins() -> set[str]:
    configured = [settings.SITE_URL, settings.FRONTEND_URL]
    configured += list(getattr(settings, "CORS_ALLOWED_ORIGINS", ()))
    return {origin for origin in map(_origin, configured) if origin}


def _origin(url: str) -> str:
    """scheme://host[:port], lower-case, default port dropped: the form a
    browser's Origin header takes. Empty for anything else (`null` included)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return ""
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return ""
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS[parts.scheme]:
        host = f"{host}:{port}"
    return f"{parts.scheme}://{host}"


def set_refresh_cookie(response, pair) -> None:
    """The refresh token of a cookie session, living exactly as long as it."""
    max_age = max(0, pair.refresh_expires_at - int(timezone.now().timestamp()))
    _set(response, pair.refresh_token, max_age)


def clear_refresh_cookie(response) -> None:
    _set(response, "", 0)


def _set(response, value: str, max_age: int) -> None:
    # Same attributes when clearing: a browser only replaces a __Host- cookie
    # with one that is Secure, Path=/ and has no Domain.
    response.set_cookie(
        cookie_name(),
        value,
        max_age=max_age,
        path="/",
        secure=cookie_name() == SECURE_COOKIE_NAME,
        httponly=True,
        samesite="Strict",
    )
