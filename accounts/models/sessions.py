"""API sessions: one row per sign-in."""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.client import USER_AGENT_MAX_LENGTH
from accounts.models.users import User


class TokenSession(models.Model):
    """One API sign-in: the chain of rotated refresh tokens it produced.

    Only the current refresh token's `jti` is kept, never the token itself, so a
    database leak yields nothing that can be replayed.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="token_sessions"
    )

    class Transport(models.TextChoices):
        # How the refresh token travels, fixed at sign-in: in JSON bodies, or
        # only in an HttpOnly cookie the SPA's script can never read.
        BODY = "body"
        COOKIE = "cookie"

    refresh_jti = models.CharField(max_length=64)
    transport = models.CharField(
        max_length=8, choices=Transport.choices, default=Transport.BODY
    )
    # The refresh token superseded by the last refresh, and when: presented
    # again shortly after, it is a second tab racing the first (409), not theft.
    previous_jti = models.CharField(max_length=64, blank=True)
    rotated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=USER_AGENT_MAX_LENGTH, blank=True)
    # The session's assurance (accounts.assurance): when it last proved a factor,
    # which methods it proved, and its level. Refresh copies them into each new
    # access token and never renews them; only proving a factor again does.
    auth_time = models.DateTimeField(default=timezone.now)
    amr = models.JSONField(default=list, blank=True)
    aal = models.PositiveSmallIntegerField(default=1)

    class Meta:
        indexes = [
            models.Index(fields=["user", "-created_at"], name="accounts_ts_user_idx"),
            # For flushexpiredtokens: it deletes by age, never by user.
            models.Index(fields=["expires_at"], name="accounts_ts_expires_idx"),
            models.Index(
                fields=["revoked_at"],
                condition=Q(revoked_at__isnull=False),
                name="accounts_ts_revoked_idx",
            ),
        ]

    def __str__(self):
        return f"session {self.id} of {self.user_id}"


class BrowserSession(models.Model):
    """One browser sign-in (pages or admin), so the owner can see and end it.

    The Django session holds this row's id; the row holds no session key, so
    reading the table never lets anyone take over a browser."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="browser_sessions"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=USER_AGENT_MAX_LENGTH, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["user", "-last_seen_at"], name="accounts_bs_user_idx"),
        ]

    def __str__(self):
        return f"browser session {self.id} of {self.user_id}"
