"""Confinement under MFA_REQUIRED, the API's half (the rule itself is
services.is_confined; the pages' half is accounts.middleware).

A confined session gets 403 {"detail", "code": "mfa_setup_required"} from every
view except those that name the request's method in `allowed_while_confined`:
what a confined session needs to set up a second factor, look at its own
account and sessions, and sign out (the contract's list). A new view joins the
list by setting the attribute:

    class MfaStatusApi(APIView):
        allowed_while_confined = CONFINED_MAY_USE_ALL_METHODS

NotConfined is in DEFAULT_PERMISSION_CLASSES; a view that sets its own
permission_classes must keep it (a test walks every URL to make sure).
"""

from rest_framework.permissions import BasePermission

from accounts import services
from accounts.errors import MfaSetupRequired
from accounts.request_assurance import assurance_of

CONFINED_MAY_USE_ALL_METHODS = frozenset(
    {"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"}
)
CONFINED_MAY_READ = frozenset({"GET", "HEAD"})


class NotConfined(BasePermission):
    def has_permission(self, request, view):
        user = request.user
        if not user or not user.is_authenticated:
            return True  # the other permission classes answer anonymous callers
        if request.method in getattr(view, "allowed_while_confined", ()):
            return True
        # Raised rather than returned: the answer carries its own code.
        if services.is_confined(user=user, assurance=assurance_of(request)):
            raise MfaSetupRequired()
        return True
