"""Lost factors: a staff-started reset that the owner's mailbox accepts and
that takes effect only after MFA_RESET_DELAY.

Staff never remove a user's factors themselves: a staff member talked into it
by an impostor would hand the account over. Instead staff start a reset with a
written reason; the account's verified address gets a link; following it
schedules the removal MFA_RESET_DELAY later, and the notice carries a cancel
link. Meanwhile the owner cancels by that link or simply by signing in with a
factor (cancel_factor_reset), so someone who controls the mailbox for a while,
but is not the owner, has days in which the owner can stop them.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts import emails, tokens
from accounts.assurance import Assurance
from accounts.client import NO_CLIENT, Client
from accounts.errors import (
    FactorResetRefused,
    FieldError,
    InvalidToken,
    PermissionDenied,
)
from accounts.models import AuthEvent, FactorReset, User
from accounts.services.audit import record
from accounts.services.authority import in_staff_scope, require_may_manage
from accounts.services.reauthentication import require_recent_auth
from accounts.services.revocation import revoke_all_tokens

LINK_LIFETIME = timedelta(hours=24)
# An address changed this recently may be an attacker's: a reset would hand
# them the account.
ADDRESS_CHANGE_QUIET_PERIOD = timedelta(days=7)


def start_factor_reset(
    *,
    actor: User,
    user: User,
    reason: str,
    assurance: Assurance,
    client: Client = NO_CLIENT,
) -> FactorReset:
    """Start removing every factor of `user`, on the owner's acceptance.

    Emails the acceptance link to the account's verified address; records
    the actor and the reason. A reset started earlier and not yet accepted is
    replaced (its link dies)."""
    _require_may_reset(actor, user)
    require_recent_auth(user=actor, assurance=assurance)
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if not reason:
        raise FieldError(
            "Say why the factors are being reset.", code="required", field="reason"
        )
    now = timezone.now()
    with transaction.atomic():
        # Two resets started at once take turns; the checks read the row as
        # it is now, under the lock.
        User.objects.select_for_update().filter(pk=user.pk).values_list("pk").get()
        user.refresh_from_db()
        _refuse_unless_resettable(user, now)
        for earlier in FactorReset.objects.live().filter(user=user):
            _cancel(earlier, "replaced", client, now=now, by=str(actor.pk))
        reset = FactorReset.objects.create(
            user=user,
            started_by=actor,
            reason=reason,
            email=user.email,
            generation=user.token_generation,
            created_at=now,
            link_expires_at=now + LINK_LIFETIME,
        )
        record(
            user,
            AuthEvent.Type.FACTOR_RESET_STARTED,
            client,
            by=str(actor.pk),
            reason=reason,
            reset=str(reset.pk),
        )
        emails.send_factor_reset_link(user, reset_id=str(reset.pk))
    return reset


def check_factor_reset_link(*, token: str) -> str:
    """What a reset link does (tokens.FACTOR_RESET_ACCEPT or _CANCEL) while it
    still works; InvalidToken otherwise. Changes nothing: opening the link
    only shows a button."""
    _, action = _reset_of(token, FactorReset.objects)
    return action


def accept_factor_reset(*, token: str, client: Client = NO_CLIENT) -> FactorReset:
    """The owner's mailbox accepts a reset: the removal is scheduled
    MFA_RESET_DELAY from now. Queues the removal task and a notice carrying
    the cancel link."""
    # Imported here: tasks imports the services (a module-level import would
    # be a cycle: services -> tasks -> services).
    from accounts.tasks import remove_factors_after_reset

    with transaction.atomic():
        reset, action = _reset_of(token, FactorReset.objects.select_for_update())
        if action != tokens.FACTOR_RESET_ACCEPT:
            raise InvalidToken()
        now = timezone.now()
        reset.accepted_at = now
        reset.due_at = now + timedelta(seconds=settings.MFA_RESET_DELAY)
        reset.save(update_fields=["accepted_at", "due_at"])
        record(
            reset.user,
            AuthEvent.Type.FACTOR_RESET_ACCEPTED,
            client,
            reset=str(reset.pk),
            due_at=reset.due_at.isoformat(),
        )
        # Queued in this transaction: the schedule commits with the acceptance.
        remove_factors_after_reset.using(run_after=reset.due_at).enqueue(
            reset_id=str(reset.pk)
        )
        emails.send_factor_reset_scheduled(reset.user, reset_id=str(reset.pk))
    return reset


def cancel_factor_reset_by_link(*, token: str, client: Client = NO_CLIENT) -> None:
    """The cancel link of the notice: the reset stops, nothing is removed."""
    with transaction.atomic():
        reset, action = _reset_of(token, FactorReset.objects.select_for_update())
        if action != tokens.FACTOR_RESET_CANCEL:
            raise InvalidToken()
        _cancel(reset, "cancel_link", client)
        emails.send_factor_reset_cancelled(reset.user)


def cancel_factor_reset(*, user: User, reason: str, client: Client = NO_CLIENT) -> bool:
    """Stop every reset under way for `user` (the owner proved a factor, so it
    is not lost); whether there was one. Emails a notice when there was.

    Called by every sign-in that proves a second factor; one query when no
    reset is under way."""
    with transaction.atomic():
        resets = list(FactorReset.objects.live().select_for_update().filter(user=user))
        for reset in resets:
            _cancel(reset, reason, client)
        if resets:
            emails.send_factor_reset_cancelled(user)
    return bool(resets)


def complete_factor_reset(*, reset_id: str) -> str:
    """Carry out an accepted reset that is due and still stands: every factor
    and recovery code goes, every session of the account is revoked, and a
    notice is emailed. What happened, for the task's result."""
    now = timezone.now()
    with transaction.atomic():
        reset = FactorReset.objects.select_for_update().filter(pk=reset_id).first()
        if reset is None:
            return "gone"
        if reset.cancelled_at or reset.completed_at or reset.accepted_at is None:
            return "cancelled"
        user = User.objects.select_for_update().get(pk=reset.user_id)
        if not user.is_usable or user.email != reset.email:
            # The mailbox that accepted is no longer the account's.
            _cancel(reset, "account_changed", NO_CLIENT, now=now)
            return "cancelled"
        if reset.due_at > now:
            return "not due"
        factors, _ = user.authenticators.all().delete()
        user.recovery_codes.all().delete()
        # Every session ends: one that proved the removed factor must not
        # outlive it. Later sign-ins are confined when MFA_REQUIRED covers
        # the account, until a new factor is set up.
        revoke_all_tokens(user)
        reset.completed_at = now
        reset.save(update_fields=["completed_at"])
        record(
            user,
            AuthEvent.Type.FACTOR_RESET_COMPLETED,
            NO_CLIENT,
            reset=str(reset.pk),
            factors_removed=factors,
            # The worker acts, at the time the accepted reset said: the owner's
            # history shows the service did it, not the owner.
            by="system",
        )
        emails.send_factor_reset_completed(user)
    return "completed"


def _require_may_reset(actor: User, user: User) -> None:
    if in_staff_scope(user):
        # Privilege escalation: a staff account's factors guard the admin;
        # nobody resets their own (an impostor at the keyboard would).
        if not actor.is_superuser or actor.pk == user.pk:
            raise PermissionDenied(
                "Only another superuser may reset the factors of a staff account."
            )
        return
    require_may_manage(actor, user)


def _refuse_unless_resettable(user: User, now) -> None:
    if not user.has_mfa:
        raise FactorResetRefused(
            "This account has no second factor to reset.", code="mfa_not_enabled"
        )
    if not user.email_verified:
        raise FactorResetRefused(
            "The account's email address is not verified.", code="email_unverified"
        )
    # The pending address belongs to the email-change flow (its field may
    # not exist yet in older schemas, hence getattr).
    if getattr(user, "pending_email", None):
        raise FactorResetRefused(
            "An email address change is pending.", code="email_change_pending"
        )
    if user.auth_events.filter(
        type=AuthEvent.Type.EMAIL_CHANGED,
        created_at__gte=now - ADDRESS_CHANGE_QUIET_PERIOD,
    ).exists():
        raise FactorResetRefused(
            "The email address changed less than 7 days ago.",
            code="email_recently_changed",
        )
    if FactorReset.objects.live().filter(user=user, accepted_at__isnull=False).exists():
        raise FactorResetRefused(
            "A factor reset is already scheduled.", code="factor_reset_scheduled"
        )


def _reset_of(token, resets) -> tuple[FactorReset, str]:
    """The live reset a link names, and what the link does; InvalidToken for
    a forged, expired, used or foreign link."""
    reset_id, action = tokens.read_factor_reset_token(token)
    reset = resets.filter(pk=reset_id).first() if reset_id else None
    if reset is None or reset.cancelled_at or reset.completed_at:
        raise InvalidToken()
    user = reset.user
    # Bound to the address the link went to: after an address change, the
    # mailbox that holds the link is no longer the account's.
    if not user.is_usable or user.email != reset.email:
        raise InvalidToken()
    now = timezone.now()
    if action == tokens.FACTOR_RESET_ACCEPT:
        # Once: accepting sets accepted_at. And bound to token_generation, so
        # signing out everywhere (or a password change) kills the link.
        if (
            reset.accepted_at is not None
            or reset.link_expires_at <= now
            or reset.generation != user.token_generation
            or not user.email_verified
        ):
            raise InvalidToken()
    elif action != tokens.FACTOR_RESET_CANCEL or reset.accepted_at is None:
        raise InvalidToken()
    return reset, action


def _cancel(
    reset: FactorReset, reason: str, client: Client, *, now=None, by: str = ""
) -> None:
    reset.cancelled_at = now or timezone.now()
    reset.cancel_reason = reason[:100]
    reset.save(update_fields=["cancelled_at", "cancel_reason"])
    # `by` names the staff member whose new reset replaced this one: the
    # client is theirs, and the owner's export must show the role, not them.
    record(
        reset.user,
        AuthEvent.Type.FACTOR_RESET_CANCELLED,
        client,
        reset=str(reset.pk),
        reason=reset.cancel_reason,
        **({"by": by} if by else {}),
    )
