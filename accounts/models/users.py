"""Accounts and their service tiers."""

import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, PermissionsMixin
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac

from accounts import identifiers
from accounts.managers import UserManager, normalize_email, normalize_username
from accounts.validators import validate_email_domain

# Column lengths; both doors refuse longer input with these same numbers.
USERNAME_MAX_LENGTH = 150
EMAIL_MAX_LENGTH = 254
PERSONAL_NAME_MAX_LENGTH = 150
# What signs in is an address or a username.
IDENTIFIER_MAX_LENGTH = max(EMAIL_MAX_LENGTH, USERNAME_MAX_LENGTH)

# Written by User.save() from username and email; see accounts.identifiers.
KEY_FIELDS = {
    "username": ("username_key", "username_skeleton"),
    "email": ("email_key",),
}


class Tier(models.Model):
    """A service level: how many API calls a minute its accounts may make.

    Staff assign tiers in the admin and the staff API; accounts.throttles reads
    the rate through `User.api_rate_per_minute`.
    """

    name = models.CharField(max_length=50, unique=True)
    rate_limit_per_minute = models.PositiveIntegerField(
        validators=[MinValueValidator(1)]
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            # A rate of 0 would lock every account of the tier out of the API.
            models.CheckConstraint(
                condition=Q(rate_limit_per_minute__gte=1),
                name="accounts_tier_rate_positive",
            ),
        ]

    def __str__(self):
        return self.name


# Written only by the revocation services (accounts.services.revocation).
REVOCATION_FIELDS = ("token_generation", "revoked_sessions", "browser_generation")
# Counters the services change with their own UPDATEs; like REVOCATION_FIELDS,
# never written back by a full save of a stale instance (which would forgive
# an attacker's wrong codes).
COUNTER_FIELDS = ("second_factor_failures", "second_factor_alerted_at")


class User(AbstractBaseUser, PermissionsMixin):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    username = models.CharField(
        max_length=USERNAME_MAX_LENGTH,
        validators=[UnicodeUsernameValidator()],
        help_text=f"{USERNAME_MAX_LENGTH} characters or fewer. "
        "Letters, digits and @/./+/-/_ only.",
    )
    email = models.EmailField(
        max_length=EMAIL_MAX_LENGTH, validators=[validate_email_domain]
    )
    # Canonical keys: every uniqueness rule and every lookup goes through these,
    # so SQLite and PostgreSQL agree (their LOWER() do not). NULL only for an
    # account that already shared a key with an older one when the keys were
    # introduced (migration 0008): it keeps its name until it changes it.
    username_key = models.TextField(null=True, editable=False)
    username_skeleton = models.TextField(null=True, editable=False)
    email_key = models.TextField(null=True, editable=False)
    first_name = models.CharField(max_length=PERSONAL_NAME_MAX_LENGTH, blank=True)
    last_name = models.CharField(max_length=PERSONAL_NAME_MAX_LENGTH, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    email_verified = models.BooleanField(default=False)
    deleted_at = models.DateTimeField(null=True, blank=True)
    tier = models.ForeignKey(
        Tier,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="users",
        help_text="Sets the account's API rate limit; empty means the default.",
    )
    # An address change waiting for the new mailbox to confirm it. The pending
    # address is reserved by nobody and matches no lookup (sign-in, reset,
    # resend): only a confirmation makes it the account's address. The moment
    # of the request names the change (its links die when it is replaced), and
    # the level of the session that asked decides whether the old mailbox may
    # cancel it (not when a second factor was proved).
    pending_email = models.EmailField(
        max_length=EMAIL_MAX_LENGTH, blank=True, default="", editable=False
    )
    pending_email_requested_at = models.DateTimeField(
        null=True, blank=True, editable=False
    )
    pending_email_aal = models.PositiveSmallIntegerField(default=1, editable=False)
    # Bumped to revoke every token issued before (see architecture.md).
    token_generation = models.PositiveIntegerField(default=0, editable=False)
    # Sessions signed out one by one, {sid: unix time of the revocation}, kept
    # only while an access token of theirs could still be alive: the row is
    # loaded to authenticate anyway, so refusing those tokens costs no query.
    revoked_sessions = models.JSONField(default=dict, blank=True, editable=False)
    # Bumped to sign out every browser but keep the API sessions (which
    # token_generation would kill): confirming a first second factor ends the
    # other browser sign-ins while the confirming API session lives on.
    browser_generation = models.PositiveIntegerField(default=0, editable=False)
    # Wrong second-factor answers since the last success: kept in the row, not
    # the cache, because "100 in a row" spans days and must survive a cache
    # flush; at the limit only a password reset by email clears it.
    second_factor_failures = models.PositiveIntegerField(default=0, editable=False)
    # When the owner was last told of a failed or abandoned second factor, so
    # the notices come at most hourly (a mailbox flood otherwise).
    second_factor_alerted_at = models.DateTimeField(
        null=True, blank=True, editable=False
    )

    objects = UserManager()

    USERNAME_FIELD = "username"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["email"]

    class Meta:
        constraints = [
            # Enforced by the database itself, so concurrent sign-ups cannot both
            # win a check-then-insert race.
            # Soft-deleted accounts do not hold on to their address or name:
            # to the outside they do not exist, so signing up again must work
            # (and must not reveal that a deleted account had them).
            models.UniqueConstraint(
                fields=["username_key"],
                condition=models.Q(deleted_at__isnull=True),
                name="accounts_user_username_key_unique",
                violation_error_message="Username already taken",
            ),
            # Impersonation: a name that only looks like another ("аdmin" with
            # a Cyrillic а) is taken too (Unicode TS #39 skeletons).
            models.UniqueConstraint(
                fields=["username_skeleton"],
                condition=models.Q(deleted_at__isnull=True),
                name="accounts_user_username_skeleton_unique",
                violation_error_message="Username already taken",
            ),
            models.UniqueConstraint(
                fields=["email_key"],
                condition=models.Q(deleted_at__isnull=True),
                name="accounts_user_email_key_unique",
                violation_error_message="Email already registered",
            ),
        ]
        indexes = [
            models.Index(
                fields=["-date_joined", "-id"], name="accounts_user_joined_idx"
            ),
            # The unique indexes cover live accounts only; staff lookups by
            # address (and imports) include deleted ones and need this one.
            models.Index(Lower("email"), name="accounts_user_email_lower_idx"),
            # Staff lists filter on rare values (deleted, inactive, staff) and sort
            # newest first: partial indexes keep those pages off a full-table walk
            # at a million rows while costing nothing for ordinary accounts.
            # (Search uses trigram indexes, PostgreSQL only: migration 0004.)
            models.Index(
                fields=["-date_joined", "-id"],
                condition=Q(deleted_at__isnull=False),
                name="accounts_user_deleted_idx",
            ),
            models.Index(
                fields=["-date_joined", "-id"],
                condition=Q(is_active=False),
                name="accounts_user_inactive_idx",
            ),
            models.Index(
                fields=["-date_joined", "-id"],
                condition=Q(is_staff=True),
                name="accounts_user_staff_idx",
            ),
        ]

    def __str__(self):
        return self.username

    def clean(self):
        super().clean()
        self.username = normalize_username(self.username)
        self.email = normalize_email(self.email)

    def validate_constraints(self, exclude=None):
        # The unique constraints hold only for live accounts (deleted_at IS
        # NULL); Django skips a conditional constraint whose condition names an
        # excluded field, which the admin's forms (no deleted_at) would do. The
        # key columns are never form fields: they are checked with their source.
        exclude = set(exclude or ()) - {"deleted_at"}
        self._set_keys()
        for source, keys in KEY_FIELDS.items():
            if source not in exclude:
                exclude -= set(keys)
        super().validate_constraints(exclude=exclude)

    @classmethod
    def from_db(cls, db, field_names, values):
        user = super().from_db(db, field_names, values)
        user._loaded_identity = {name: user.__dict__.get(name) for name in KEY_FIELDS}
        return user

    def keeps_username(self, username: str) -> bool:
        """Whether `username` is this stored account's own name in any spelling."""
        loaded = getattr(self, "_loaded_identity", {}).get("username")
        return loaded is not None and identifiers.username_key(
            loaded
        ) == identifiers.username_key(username)

    def keeps_email(self, email: str) -> bool:
        loaded = getattr(self, "_loaded_identity", {}).get("email")
        return loaded is not None and identifiers.email_key(
            loaded
        ) == identifiers.email_key(email)

    def _set_keys(self) -> None:
        # Recomputed only when the identity changes: an account left without a
        # key by migration 0008 (it shared one with an older account) keeps
        # working under the name it has.
        if self._state.adding or not self.keeps_username(self.username):
            self.username_key = identifiers.username_key(self.username)
            self.username_skeleton = identifiers.username_skeleton(self.username)
        if self._state.adding or not self.keeps_email(self.email):
            self.email_key = identifiers.email_key(self.email)

    def save(self, *args, **kwargs):
        # Normalise on every save, not only in forms: the unique constraints only
        # catch look-alikes when the stored forms are canonical.
        self.username = normalize_username(self.username)
        self.email = normalize_email(self.email)
        self._set_keys()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {
                *update_fields,
                *(
                    key
                    for source, keys in KEY_FIELDS.items()
                    if source in update_fields
                    for key in keys
                ),
            }
        if not self._state.adding and kwargs.get("update_fields") is None:
            # token_generation and revoked_sessions only change under the
            # revocation services' own updates; a full save of a stale instance
            # must not roll them back and bring revoked tokens back to life.
            kwargs["update_fields"] = [
                f.name
                for f in self._meta.concrete_fields
                if not f.primary_key
                and f.name not in (*REVOCATION_FIELDS, *COUNTER_FIELDS)
            ]
        super().save(*args, **kwargs)
        self._loaded_identity = {name: getattr(self, name) for name in KEY_FIELDS}

    def get_full_name(self):
        return f"{self.first_name} {self.last_name}".strip()

    def get_short_name(self):
        return self.first_name

    def _get_session_auth_hash(self, secret=None):
        # Web sessions die with the same revocations as tokens: Django checks this
        # hash on every request, and bumping token_generation (or, for browsers
        # alone, browser_generation) changes it. browser_generation joins the
        # hash only once bumped, so existing sign-ins survive its introduction.
        state = f"{self.password}|{self.token_generation}"
        if self.browser_generation:
            state += f"|{self.browser_generation}"
        return salted_hmac(
            "accounts.User.get_session_auth_hash",
            state,
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    @property
    def is_deleted(self) -> bool:
        """Soft-deleted: kept for staff to restore, gone to the outside."""
        return self.deleted_at is not None

    @property
    def is_usable(self) -> bool:
        """Whether the account may sign in, receive links and keep its sessions:
        active and not soft-deleted (UserQuerySet.usable is the same rule in SQL).
        """
        return self.is_active and not self.is_deleted

    @property
    def has_mfa(self) -> bool:
        """Whether the account has a second factor (an authenticator app or a
        passkey): the one place every door asks."""
        return self.authenticators.exists()

    @property
    def live_pending_email(self) -> str | None:
        """The address change waiting for confirmation, unless it expired
        (EMAIL_CHANGE_TIMEOUT)."""
        if not self.pending_email or self.pending_email_requested_at is None:
            return None
        age = timezone.now() - self.pending_email_requested_at
        if age > timedelta(seconds=settings.EMAIL_CHANGE_TIMEOUT):
            return None
        return self.pending_email

    @property
    def api_rate_per_minute(self) -> int | None:
        """The tier's API rate, or None for the default rate (THROTTLE_RATES)."""
        return self.tier.rate_limit_per_minute if self.tier_id else None
