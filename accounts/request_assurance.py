"""What a request's session has proved (accounts.assurance), read from its
access token or its browser session, and kept in a browser session after a
sign-in. The doors call these; the services get the resulting Assurance."""

from django.http import HttpResponseRedirect
from django.utils.http import urlencode

from accounts.assurance import NONE, SESSION_KEY, Assurance
from accounts.http import remember_device
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


def remember_sign_in(request, response, user) -> None:
    """After a browser sign-in (pages or admin): the session keeps what the
    sign-in proved, and the browser is marked as one the owner uses."""
    keep_assurance(request, getattr(request, "proved", None) or NONE)
    remember_device(response, user)


# The page that asks a browser to prove a factor again (contract "New pages").
REAUTHENTICATE_PATH = "/accounts/reauthenticate/"


def reauthenticate_redirect(request):
    """Send the browser to prove a factor again, then back to where it was."""
    query = urlencode({"next": request.get_full_path()})
    return HttpResponseRedirect(f"{REAUTHENTICATE_PATH}?{query}")
