"""Second factors and the short-lived records of multi-step flows."""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models.users import EMAIL_MAX_LENGTH, User


class Authenticator(models.Model):
    """A second factor a user has confirmed: an authenticator app (TOTP) or a
    passkey. One model, so "has MFA", the sign-in methods, the security page,
    the admin and the data export all ask one place."""

    class Kind(models.TextChoices):
        TOTP = "totp", "Authenticator app"
        PASSKEY = "passkey", "Passkey"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="authenticators"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    # TOTP: the seed, encrypted at rest (accounts.encryption), and the last time
    # step accepted, so a code never works twice.
    secret = models.TextField(blank=True, editable=False)
    last_step = models.BigIntegerField(null=True, blank=True, editable=False)
    # Passkey: what the authenticator gave at registration (py_webauthn's
    # VerifiedRegistration). The credential id is kept base64url-encoded, as
    # browsers send it, and is unique across every account: one credential
    # never signs in to two accounts. The COSE public key is not secret, but
    # it is key material: never shown by any door or export.
    credential_id = models.CharField(
        max_length=1400, null=True, blank=True, unique=True, editable=False
    )
    public_key = models.BinaryField(null=True, blank=True, editable=False)
    sign_count = models.PositiveBigIntegerField(default=0, editable=False)
    transports = models.JSONField(default=list, blank=True, editable=False)
    aaguid = models.CharField(max_length=36, blank=True, editable=False)
    backup_eligible = models.BooleanField(default=False, editable=False)
    backup_state = models.BooleanField(default=False, editable=False)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(kind="totp"),
                name="accounts_one_totp_per_user",
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()} of {self.user_id}"


class RecoveryCode(models.Model):
    """One of the single-use codes that stand in for a lost second factor; only
    a keyed digest is stored (accounts.codes)."""

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="recovery_codes"
    )
    digest = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["user", "used_at"], name="accounts_rc_user_idx")
        ]

    def __str__(self):
        return f"recovery code of {self.user_id}"


class PendingStep(models.Model):
    """A step of a multi-step flow waiting for the client's next move: the
    second factor after a password, a TOTP set-up awaiting its first code, an
    emailed enrolment code, a WebAuthn challenge. The client holds an opaque
    random token; only its digest is stored, so the table alone lets nobody
    continue a flow. Each row
    is bound to a purpose, an account, a session and the account's
    token_generation, lives minutes, and is used once."""

    class Purpose(models.TextChoices):
        MFA_SIGNIN = "mfa_signin"
        TOTP_SETUP = "totp_setup"
        ENROL_CODE = "enrol_code"
        SIGNIN_CODE = "signin_code"
        # WebAuthn challenges, one purpose per ceremony so that a challenge
        # can never be presented to another one.
        WEBAUTHN_REGISTER = "webauthn_register"
        WEBAUTHN_SIGNIN = "webauthn_signin"
        WEBAUTHN_MFA = "webauthn_mfa"
        WEBAUTHN_REAUTH = "webauthn_reauth"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    purpose = models.CharField(max_length=32, choices=Purpose.choices)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    user = models.ForeignKey(
        User, on_delete=models.CASCADE, null=True, related_name="pending_steps"
    )
    session_id = models.CharField(max_length=80, blank=True)
    generation = models.PositiveIntegerField(null=True)
    payload = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.purpose} step {self.id}"


class FactorResetQuerySet(models.QuerySet):
    def live(self):
        """Resets still under way: accepted and waiting for their removal, or
        started and their link not yet expired."""
        return self.filter(
            Q(accepted_at__isnull=False) | Q(link_expires_at__gt=timezone.now()),
            cancelled_at__isnull=True,
            completed_at__isnull=True,
        )


class FactorReset(models.Model):
    """A staff-started removal of every second factor of an account whose owner
    lost them: started with a reason, accepted from the account's mailbox,
    carried out MFA_RESET_DELAY later unless the owner cancels it (or signs in
    with a factor) meanwhile. Its links are signed at sending time and name
    this row; nothing secret is stored."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="factor_resets"
    )
    started_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    reason = models.TextField()
    # The address and token_generation the link was sent for: the link dies
    # when either changes.
    email = models.CharField(max_length=EMAIL_MAX_LENGTH)
    generation = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    link_expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=100, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    objects = FactorResetQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["user", "-created_at"], name="accounts_factor_reset_idx"
            )
        ]

    def __str__(self):
        return f"factor reset {self.id} of {self.user_id}"
