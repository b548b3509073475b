"""DRF's hook for the per-user API rate; the counting is accounts.throttles'."""

from rest_framework.throttling import BaseThrottle

from accounts import throttles

# Set on a request whose call accounts.api.direct has counted already, so a
# request it hands to DRF (to answer the 429) is not counted twice.
COUNTED = "identity_api_call_counted"


def count_api_call(user) -> int | None:
    """Seconds to wait when `user` is over their per-minute rate, else None."""
    return throttles.count_api_call(
        user_id=str(user.pk), tier_rate=getattr(user, "api_rate_per_minute", None)
    )


class UserRateThrottle(BaseThrottle):
    """Authenticated API calls per user per minute: the user's tier rate, else the
    `user` rate of THROTTLE_RATES."""

    retry_after = None

    def allow_request(self, request, view):
        user = getattr(request, "user", None)
        if not user or not user.is_authenticated:
            return True
        counted = getattr(request, COUNTED, None)
        self.retry_after = counted[0] if counted else count_api_call(user)
        return self.retry_after is None

    def wait(self):
        return self.retry_after
