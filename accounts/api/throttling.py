"""DRF's hook for the per-user API rate; the counting is accounts.throttles'."""

from rest_framework.throttling import BaseThrottle

from accounts import throttles


class UserRateThrottle(BaseThrottle):
    """Authenticated API calls per user per minute: the user's tier rate, else the
    `user` rate of THROTTLE_RATES."""

    retry_after = None

    def allow_request(self, request, view):
        user = getattr(request, "user", None)
        if not user or not user.is_authenticated:
            return True
        self.retry_after = throttles.count_api_call(
            user_id=str(user.pk), tier_rate=getattr(user, "api_rate_per_minute", None)
        )
        return self.retry_after is None

    def wait(self):
        return self.retry_after
