"""Who we are to a WebAuthn authenticator: the relying party id, its name, and
the origins whose assertions we accept.

A passkey is bound to an rp id (a domain). Browsers only let a page use
passkeys of an rp id equal to its host or a registrable suffix of it, so the
rp id is the host of SITE_URL unless WEBAUTHN_RP_ID names a parent domain (one
passkey then works on every host below it). FRONTEND_URL (an SPA) is an
allowed origin only when its host is under the rp id: anywhere else a browser
would refuse the ceremony before we ever saw it.

A leaf module: read by the services and by the start-up checks.
"""

import ipaddress
from urllib.parse import urlsplit

from django.conf import settings

DEFAULT_PORTS = {"http": 80, "https": 443}


def rp_id() -> str:
    return (settings.WEBAUTHN_RP_ID or host_of(settings.SITE_URL)).strip().lower()


def rp_name() -> str:
    return settings.WEBAUTHN_RP_NAME or settings.SITE_NAME


def host_of(url: str) -> str:
    return (urlsplit(url or "").hostname or "").lower()


def origin_of(url: str) -> str:
    """The origin a browser would report for a page under `url`
    (scheme://host[:port], without a default port)."""
    parts = urlsplit(url or "")
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if not scheme or not host:
        return ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        return ""
    if port is None or port == DEFAULT_PORTS.get(scheme):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def is_under(host: str, relying_party: str) -> bool:
    """Whether a page on `host` may use passkeys of `relying_party`."""
    host, relying_party = host.lower(), relying_party.lower()
    return bool(relying_party) and (
        host == relying_party or host.endswith("." + relying_party)
    )


def is_registrable_suffix(relying_party: str, host: str) -> bool:
    """Whether `relying_party` may serve as the rp id of pages on `host`: the
    host itself, or a parent domain of it that is not a bare top-level label.
    (Public suffixes such as co.uk are not recognised here; browsers refuse
    them, so such a setting fails at the first ceremony instead.)"""
    if not relying_party or is_ip_address(relying_party) or is_ip_address(host):
        # An address has no parent domains.
        return relying_party == host and bool(host)
    if relying_party == host:
        return True
    return is_under(host, relying_party) and "." in relying_party.strip(".")


def is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def frontend_may_use_passkeys() -> bool:
    return bool(settings.FRONTEND_URL) and is_under(
        host_of(settings.FRONTEND_URL), rp_id()
    )


def allowed_origins() -> list[str]:
    """SITE_URL's origin, and FRONTEND_URL's when it is under the rp id."""
    origins = [origin_of(settings.SITE_URL)]
    if frontend_may_use_passkeys():
        frontend = origin_of(settings.FRONTEND_URL)
        if frontend and frontend not in origins:
            origins.append(frontend)
    return origins
