"""Making issued tokens and sessions stop working. Must run inside the caller's
transaction; the model's save() never writes these fields (REVOCATION_FIELDS)."""

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from accounts.models import BrowserSession, TokenSession, User

# Clocks of different servers may disagree a little; an entry outliving the
# tokens it guards by a minute costs nothing.
_REVOKED_SESSION_SLACK = 60
# A browser session's entry in the list: "browser:<BrowserSession id>", never
# equal to an API session's bare UUID.
BROWSER_ENTRY_PREFIX = "browser:"


def browser_entry(browser_session_id) -> str:
    return f"{BROWSER_ENTRY_PREFIX}{browser_session_id}"


def revoke_all_tokens(user: User) -> None:
    """Kill every earlier token (access and refresh) and every web session.

    The counter is bumped in the database (F expression), so concurrent
    revocations never undo each other."""
    User.objects.filter(pk=user.pk).update(token_generation=F("token_generation") + 1)
    user.refresh_from_db(fields=["token_generation"])
    now = timezone.now()
    TokenSession.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=now
    )
    BrowserSession.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=now
    )


def revoke_session_tokens(user: User, session_id: str) -> None:
    """Make the access tokens of one session fail at once (its refresh token is
    the caller's business).

    The session id goes into the user row's short list of revoked sessions,
    which authentication reads with the row it loads anyway. The row is locked
    while the list is rewritten, so two revocations at once keep both entries;
    entries older than an access token's lifetime are dropped, as no token
    they could match is still unexpired.
    """
    _list_revoked_sessions(user, [session_id])


def revoke_other_sessions(
    user: User, *, keep_session_id: str | None, keep_browser_session_id=None
) -> None:
    """End every API session and browser sign-in of the user except the API
    session `keep_session_id`, without touching token_generation (which would
    kill the kept session's refresh token too).

    API sessions are revoked one by one, their access tokens through the
    revoked-sessions list; browsers all die by bumping browser_generation (part
    of their session hash). A browser that must stay signed in is the door's
    business: it refreshes its own session hash afterwards, and names its
    BrowserSession (`keep_browser_session_id`) so the list keeps showing it."""
    others = TokenSession.objects.filter(
        user=user, revoked_at__isnull=True, expires_at__gt=timezone.now()
    )
    if keep_session_id and not keep_session_id.startswith("web:"):
        others = others.exclude(pk=keep_session_id)
    session_ids = [str(pk) for pk in others.values_list("pk", flat=True)]
    TokenSession.objects.filter(pk__in=session_ids).update(revoked_at=timezone.now())
    if session_ids:
        _list_revoked_sessions(user, session_ids)
    browsers = BrowserSession.objects.filter(user=user, revoked_at__isnull=True)
    if keep_browser_session_id:
        browsers = browsers.exclude(pk=keep_browser_session_id)
    browsers.update(revoked_at=timezone.now())
    User.objects.filter(pk=user.pk).update(
        browser_generation=F("browser_generation") + 1
    )
    user.refresh_from_db(fields=["browser_generation"])


def _list_revoked_sessions(user: User, session_ids) -> None:
    locked = User.objects.select_for_update().only("revoked_sessions").get(pk=user.pk)
    now = int(timezone.now().timestamp())
    oldest = now - settings.ACCESS_TOKEN_EXPIRE_MINUTES * 60 - _REVOKED_SESSION_SLACK
    # A browser's entry must outlive any browser it could still sign out: a
    # browser session lasts at most SESSION_MAX_AGE_DAYS (accounts.middleware).
    oldest_browser = (
        now - settings.SESSION_MAX_AGE_DAYS * 86400 - _REVOKED_SESSION_SLACK
    )
    revoked = {
        sid: at
        for sid, at in (locked.revoked_sessions or {}).items()
        if at >= (oldest_browser if sid.startswith(BROWSER_ENTRY_PREFIX) else oldest)
    }
    for session_id in session_ids:
        revoked[str(session_id)] = now
    User.objects.filter(pk=user.pk).update(revoked_sessions=revoked)
    user.revoked_sessions = revoked
