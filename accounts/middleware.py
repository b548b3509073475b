"""Idle timeout for browser sessions.

SESSION_COOKIE_AGE bounds a session's whole life; SESSION_IDLE_TIMEOUT signs out a
browser left unused for that long (a forgotten session on a shared computer).
"""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout

LAST_SEEN_KEY = "_last_seen"
# Saving the session on every request would cost a write each time; a minute of
# slack on a timeout of hours or days is invisible.
LAST_SEEN_RESOLUTION = 60


class IdleTimeoutMiddleware:
    """Goes after AuthenticationMiddleware and MessageMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # Reading the session key, not request.user, spares a user query on
        # requests that do not need one (the API authenticates by token).
        if SESSION_KEY in request.session:
            now = int(time.time())
            last_seen = request.session.get(LAST_SEEN_KEY)
            if (
                last_seen is not None
                and now - last_seen > settings.SESSION_IDLE_TIMEOUT
            ):
                logout(request)
                messages.info(
                    request,
                    "You were signed out after a period of inactivity.",
                    fail_silently=True,
                )
            elif last_seen is None or now - last_seen >= LAST_SEEN_RESOLUTION:
                request.session[LAST_SEEN_KEY] = now
        return self.get_response(request)
