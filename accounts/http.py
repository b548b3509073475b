"""Facts about the client that both doors pass to the services as plain values."""

import ipaddress

from django.conf import settings

from accounts import devices
from accounts.client import Client


def client_ip(request) -> str | None:
    """The client's address: the connection's, or the one the configured number of
    trusted proxies reports. X-Forwarded-For is otherwise ignored, because any
    client can write it (throttle evasion, forged audit trails)."""
    candidate = request.META.get("REMOTE_ADDR")
    hops = settings.TRUSTED_PROXY_COUNT
    if hops:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= hops:
            candidate = forwarded[-hops]
    try:
        return str(ipaddress.ip_address(candidate)) if candidate else None
    except ValueError:
        return None


def client_of(request) -> Client:
    """The request's origin as the plain value the services take."""
    return Client(
        ip=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
        door=door_of(request),
    )


def door_of(request) -> str:
    path = request.path_info
    if path.startswith("/api/"):
        return "api"
    if path.startswith("/admin/"):
        return "admin"
    return "web"


def device_of(request) -> str | None:
    """The identity_device cookie the browser sent, unverified (the service
    checks it against the account it signs in)."""
    return request.COOKIES.get(devices.COOKIE_NAME)


def remember_device(response, user) -> None:
    """After a successful sign-in: mark this browser as one the account's owner
    uses, so a slowdown caused by strangers' guesses does not slow it."""
    response.set_cookie(
        devices.COOKIE_NAME,
        devices.issue(user),
        max_age=devices.MAX_AGE,
        # Script on the page never needs it (XSS could copy it otherwise).
        httponly=True,
        secure=settings.SITE_URL.startswith("https://"),
        samesite="Lax",
    )
