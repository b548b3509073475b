"""Time limits and revocation of browser sessions, confinement under
MFA_REQUIRED, and no caching of what a signed-in person sees.

SESSION_IDLE_TIMEOUT signs out a browser left unused for that long (a forgotten
session on a shared computer); SESSION_MAX_AGE_DAYS signs out any browser that
long after its sign-in, however active (a stolen session cookie, kept warm by
its thief, still dies). Django's SESSION_COOKIE_AGE cannot do the latter: every
save of the session starts its cookie's age again.
"""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.auth.models import AnonymousUser
from django.shortcuts import redirect
from django.utils.functional import SimpleLazyObject
from django.utils.http import http_date

from accounts import services
from accounts.errors import ReauthenticationRequired
from accounts.request_assurance import (
    BROWSER_SESSION_KEY,
    assurance_of,
    reauthenticate_redirect,
)
from accounts.services.revocation import browser_entry

LAST_SEEN_KEY = "_last_seen"
SIGNED_IN_AT_KEY = "_signed_in_at"
# Saving the session on every request would cost a write each time; a minute of
# slack on a timeout of hours or days is invisible.
LAST_SEEN_RESOLUTION = 60


class IdleTimeoutMiddleware:
    """Idle timeout and maximum age. Goes after AuthenticationMiddleware and
    MessageMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # Reading the session key, not request.user, spares a user query on
        # requests that do not need one (the API authenticates by token).
        if SESSION_KEY in request.session:
            now = int(time.time())
            last_seen = request.session.get(LAST_SEEN_KEY)
            signed_in_at = request.session.get(SIGNED_IN_AT_KEY)
            browser_session_id = request.session.get(BROWSER_SESSION_KEY)
            if (
                signed_in_at is not None
                and now - signed_in_at > settings.SESSION_MAX_AGE_DAYS * 86400
            ):
                self.sign_out(
                    request, "Your session has expired. Please sign in again."
                )
            elif (
                last_seen is not None
                and now - last_seen > settings.SESSION_IDLE_TIMEOUT
            ):
                self.sign_out(
                    request, "You were signed out after a period of inactivity."
                )
            elif last_seen is None or now - last_seen >= LAST_SEEN_RESOLUTION:
                request.session[LAST_SEEN_KEY] = now
                if browser_session_id:
                    services.touch_browser_session(
                        browser_session_id=browser_session_id
                    )
            if browser_session_id and SESSION_KEY in request.session:
                loaded = request.user
                request.user = SimpleLazyObject(
                    lambda: self.unless_revoked(request, loaded, browser_session_id)
                )
        response = self.get_response(request)
        # Stamped after the view, so the sign-in request itself (where login()
        # ran) records the moment. login() as another user starts an empty
        # session, and signing out flushes it: the stamp never carries over.
        if SESSION_KEY in request.session and SIGNED_IN_AT_KEY not in request.session:
            request.session[SIGNED_IN_AT_KEY] = int(time.time())
        return response

    @staticmethod
    def unless_revoked(request, user, browser_session_id: str):
        """The signed-in user, or an anonymous one once this browser was ended
        from the security page of another (a stolen or forgotten session).

        Read from the user row when the request loads it anyway, so the check
        costs no query of its own and a page that never needs the account
        (the error page) still never loads it."""
        revoked = getattr(user, "revoked_sessions", None) or {}
        if browser_entry(browser_session_id) not in revoked:
            return user
        # What logout() does, which cannot run while request.user is still
        # being worked out (it reads request.user).
        services.end_browser_session(browser_session_id=browser_session_id)
        request.session.flush()
        messages.info(
            request, "This browser was signed out of your account.", fail_silently=True
        )
        return AnonymousUser()

    @staticmethod
    def sign_out(request, message: str) -> None:
        logout(request)
        messages.info(request, message, fail_silently=True)


MFA_SETUP_PAGE = "/accounts/mfa/"
# What a confined browser session may still open: setting up a factor (and
# accepting a factor reset), confirming it is its owner, its own sessions, and
# signing out (the admin's sign-out too). /api/ answers for itself
# (accounts.api.permissions); static files carry no account data.
OPEN_WHILE_CONFINED = (
    MFA_SETUP_PAGE,
    "/accounts/reauthenticate/",
    "/accounts/security/",
    "/accounts/signout/",
    "/admin/logout/",
    "/api/",
    "/.well-known/",
)


class MfaSetupMiddleware:
    """MFA_REQUIRED for the pages and the admin: a confined browser session
    (services.is_confined) is sent to /accounts/mfa/ from everywhere else, so
    a password alone opens nothing but the set-up of a second factor. Goes
    after AuthenticationMiddleware and IdleTimeoutMiddleware.

    Looks at the user only when the session is signed in and the rule needs
    it (the user row the page loads anyway); anonymous requests and the API
    cost nothing."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if SESSION_KEY in request.session and not self._open(request.path):
            # Lazy: the rule loads the account only when the session's level
            # and the scope leave the answer open.
            user = request.user
            if (
                services.is_confined(user=user, assurance=assurance_of(request))
                and user.is_authenticated
            ):
                return redirect(MFA_SETUP_PAGE)
        return self.get_response(request)

    @staticmethod
    def _open(path: str) -> bool:
        static = "/" + settings.STATIC_URL.lstrip("/")
        return path.startswith((*OPEN_WHILE_CONFINED, static))


class NoStoreMiddleware:
    """`Cache-Control: no-store` on every answer to a signed-in browser or to a
    request carrying credentials (a bearer token): the browser's disk cache
    and any proxy would otherwise keep account pages and personal data, which
    the back button or the next user of a shared computer brings back.

    An answer that already says how to cache it (token responses' bare
    `no-store`, WhiteNoise's static files, which never get this far) is left
    alone. Reads the session key, not request.user: no user query of its own.
    The API door has no session (accounts.doors).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        signed_in = session is not None and SESSION_KEY in session
        response = self.get_response(request)
        if "Cache-Control" not in response and (
            signed_in
            or (session is not None and SESSION_KEY in session)
            or "HTTP_AUTHORIZATION" in request.META
        ):
            never_cache(response)
        return response


# What add_never_cache_headers writes on an answer without Cache-Control.
NEVER_CACHE = "max-age=0, no-cache, no-store, must-revalidate, private"


def never_cache(response) -> None:
    """django.utils.cache.add_never_cache_headers for an answer that has no
    Cache-Control yet (the only kind NoStoreMiddleware touches): the same two
    headers, without parsing and rebuilding an empty Cache-Control on every
    token-checked request."""
    if "Expires" not in response:
        response["Expires"] = http_date(time.time())
    response["Cache-Control"] = NEVER_CACHE


class ReauthenticationMiddleware:
    """Pages and the admin: a use case refused for want of a recent sign-in
    sends the browser to reauthenticate and come back, wherever the refusal
    came from (a form, an admin action, a bulk delete). The API maps the same
    error to its 403 itself."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, ReauthenticationRequired):
            return reauthenticate_redirect(request)
        return None
