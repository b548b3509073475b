"""What a request's session has proved (accounts.assurance), read from its
access token or its browser session, and kept in a browser session after a
sign-in. The doors call these; the services get the resulting Assurance."""

from urllib.parse import urlencode

from django.http import HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from accounts import services
from accounts.assurance import NONE, SESSION_KEY, Assurance
from accounts.http import client_of, remember_device
from accounts.tokens import SESSION_CLAIM


def assurance_of(request) -> Assurance:
    """What the caller's session has proved: an API request's access-token
    claims, or a browser session's record; "never proved" for anything else.
    Never from the request body or a header the client writes alone."""
    token = getattr(request, "auth", None)
    if token is not None and hasattr(token, "get"):
        session = token.get(SESSION_CLAIM)
        return Assurance.from_claims(
            token, session_id=str(session) if session else None
        )
    session = getattr(request, "session", None)
    if session is not None and session.session_key:
        return Assurance.from_claims(
            session.get(SESSION_KEY) or {}, session_id=browser_session_name(session)
        )
    return NONE


def browser_session_name(session) -> str:
    """A browser session's name among the API's session ids (per-session limits,
    pending steps): never equal to an API session's UUID."""
    return f"web:{session.session_key}"


def keep_assurance(request, assurance: Assurance) -> None:
    """Record in the browser session what it has just proved (after sign-in or
    reauthentication); `auth_time`, `amr` and `aal` as the tokens carry them."""
    request.session[SESSION_KEY] = assurance.claims()


# Where a signed-in browser's session keeps the id of its BrowserSession row.
BROWSER_SESSION_KEY = "_browser_session"


def remember_sign_in(request, response, user) -> None:
    """After a browser sign-in (pages or admin): the session keeps what the
    sign-in proved and the id of its new BrowserSession (so the security page
    lists it and can end it), and the browser is marked as one the owner
    uses."""
    keep_assurance(request, getattr(request, "proved", None) or NONE)
    record_browser_session(request, user)
    remember_device(response, user)


def record_browser_session(request, user) -> None:
    """After login() of a browser (every sign-in, and sign-up): its
    BrowserSession row, whose id the session keeps."""
    request.session[BROWSER_SESSION_KEY] = services.start_browser_session(
        user=user, client=client_of(request)
    )


def end_browser_session_on_logout(sender, request, user, **kwargs) -> None:
    """Receiver of user_logged_out: whichever way a browser signs out (its
    button, the admin's, a timeout, a revocation), its row stops being listed
    as signed in."""
    session = getattr(request, "session", None)
    browser_session_id = session.get(BROWSER_SESSION_KEY) if session else None
    if browser_session_id:
        services.end_browser_session(browser_session_id=browser_session_id)


# Where a browser keeps the mfa_token of a sign-in waiting for its second
# factor: server-side, in the still anonymous session, never in a page.
PENDING_SIGN_IN_KEY = "pending_sign_in"
# Beside it, the second factors that sign-in may use ("totp", "recovery_code",
# "passkey"), so the page offers the right ones.
PENDING_METHODS_KEY = "pending_sign_in_methods"


def continue_to_second_factor(request, pending, next_url: str = ""):
    """After a right password of an account with a second factor (the pages'
    sign-in and the admin's): keep the pending step in the session and go to
    the second-factor page, which logs the browser in only after a code."""
    request.session[PENDING_SIGN_IN_KEY] = pending.mfa_token
    request.session[PENDING_METHODS_KEY] = list(pending.methods)
    url = reverse("accounts:signin_mfa")
    next_url = safe_next(request, next_url)
    if next_url:
        url += "?" + urlencode({"next": next_url}, safe="/")
    return redirect(url)


def safe_next(request, next_url: str | None) -> str:
    """`next_url` if it stays on this site, else "" (open redirects)."""
    if next_url and url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return next_url
    return ""


# The page that asks a browser to prove a factor again (contract "New pages").
REAUTHENTICATE_PATH = "/accounts/reauthenticate/"


def reauthenticate_redirect(request, next_path: str | None = None):
    """Send the browser to prove a factor again, then back to `next_path` (a
    path of ours; by default the page it was on)."""
    query = urlencode({"next": next_path or request.get_full_path()})
    return HttpResponseRedirect(f"{REAUTHENTICATE_PATH}?{query}")
