"""Recent sign-in: sensitive changes need a session that proved a factor lately."""

from accounts.assurance import Assurance
from accounts.errors import ReauthenticationRequired
from accounts.models import User


def require_recent_auth(*, user: User, assurance: Assurance) -> None:
    """Refuse unless the session proved a factor within REAUTH_WINDOW and, for an
    account with a second factor, proved one (level 2): a stolen access token or
    an unattended browser cannot change the email, the factors or the password."""
    if not assurance.is_recent(has_mfa=user.has_mfa):
        raise ReauthenticationRequired()
