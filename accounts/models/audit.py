"""The audit trail and the rate counters of the database-backed cache."""

from django.db import models
from django.utils import timezone

from accounts.client import USER_AGENT_MAX_LENGTH
from accounts.models.users import User


class AuthEvent(models.Model):
    """Audit trail of account events; written only by accounts.services."""

    class Type(models.TextChoices):
        SIGNUP = "signup"
        SIGNIN_SUCCEEDED = "signin_succeeded"
        SIGNIN_FAILED = "signin_failed"
        SIGNOUT = "signout"
        SIGNOUT_ALL = "signout_all"
        SESSION_REVOKED = "session_revoked"
        TOKEN_REUSE = "token_reuse"
        PASSWORD_CHANGED = "password_changed"
        PASSWORD_RESET_REQUESTED = "password_reset_requested"
        PASSWORD_RESET_COMPLETED = "password_reset_completed"
        EMAIL_VERIFIED = "email_verified"
        EMAIL_CHANGED = "email_changed"
        EMAIL_CHANGE_REQUESTED = "email_change_requested"
        EMAIL_CHANGE_CANCELLED = "email_change_cancelled"
        EMAIL_REPLACED = "email_replaced"
        PROFILE_UPDATED = "profile_updated"
        ACCOUNT_DELETED = "account_deleted"
        ACCOUNT_DEACTIVATED = "account_deactivated"
        ACCOUNT_ACTIVATED = "account_activated"
        ACCOUNT_RESTORED = "account_restored"
        PERMISSIONS_CHANGED = "permissions_changed"
        GROUP_CHANGED = "group_changed"
        FACTOR_RESET_STARTED = "factor_reset_started"
        FACTOR_RESET_ACCEPTED = "factor_reset_accepted"
        FACTOR_RESET_CANCELLED = "factor_reset_cancelled"
        FACTOR_RESET_COMPLETED = "factor_reset_completed"
        FACTOR_ADDED = "factor_added"
        FACTOR_REMOVED = "factor_removed"
        PASSKEY_RENAMED = "passkey_renamed"
        # A passkey's signature counter did not move forward: the credential
        # may have been copied; the assertion was refused.
        PASSKEY_COUNTER_REFUSED = "passkey_counter_refused"
        RECOVERY_CODES_REGENERATED = "recovery_codes_regenerated"
        RECOVERY_CODE_USED = "recovery_code_used"
        MFA_SIGNIN_FAILED = "mfa_signin_failed"
        REAUTHENTICATED = "reauthenticated"
        EXPORT = "export"

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(
        User,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="auth_events",
    )
    type = models.CharField(max_length=40, choices=Type.choices)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=USER_AGENT_MAX_LENGTH, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["user", "-created_at"], name="accounts_ev_user_idx")
        ]
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.type} at {self.created_at:%Y-%m-%d %H:%M:%S}"


class RateCounter(models.Model):
    """A throttle or lockout counter, for deployments whose shared cache is the
    database: Django's database cache increments by read-then-write, which lets
    parallel attempts slip past a limit. Rows are locked while they change.
    (With Redis, counters live in Redis and this table stays empty.)"""

    key = models.CharField(max_length=100, primary_key=True)
    count = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self):
        return f"{self.key}={self.count}"
