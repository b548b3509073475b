"""Confinement under MFA_REQUIRED: a session that must set up a second factor
before it may do anything else.

Confinement belongs to the session, not to the account: a session of an
account that MFA_REQUIRED covers stays confined until it has proved a second
factor (aal 2), even after the account gains one. Otherwise a stolen password
would be enough to use a staff account whose owner had just set up a factor.

Both doors ask is_confined: the API's permission (accounts.api.permissions)
and the pages' middleware (accounts.middleware). It reads only the settings,
the user row already loaded, and the session's assurance: no query.
"""

from django.conf import settings

from accounts.assurance import Assurance
from accounts.models import User
from accounts.services.authority import in_staff_scope


def mfa_required_for(user: User) -> bool:
    """Whether MFA_REQUIRED covers this account (`staff`: staff scope)."""
    scope = settings.MFA_REQUIRED
    if scope == "all":
        return True
    if scope == "none":
        return False
    # "staff", and (fail closed) a value the start-up check would refuse.
    return in_staff_scope(user)


def is_confined(*, user: User, assurance: Assurance) -> bool:
    """Whether this session may only set up a second factor (and sign out)."""
    return assurance.aal < 2 and mfa_required_for(user)
