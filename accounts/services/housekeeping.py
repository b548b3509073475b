"""Housekeeping run from cron through management commands."""

from datetime import datetime

from django.db import transaction
from django.db.models import Q

from accounts.models import AuthEvent, RateCounter, TokenSession, User
from accounts.services.audit import security_log

HOUSEKEEPING_BATCH = 1000


def purge_deleted_users(*, deleted_before: datetime, execute: bool = False) -> int:
    """Hard-delete accounts soft-deleted before the cutoff, with their sessions
    and audit trail. Without `execute` only counts them (a dry run)."""
    users = User.objects.filter(deleted_at__lt=deleted_before)
    if not execute:
        return users.count()
    purged = _delete_in_batches(users)
    security_log.info(
        "accounts_purged",
        extra={
            "event": "accounts_purged",
            "count": purged,
            "deleted_before": deleted_before.isoformat(),
        },
    )
    return purged


def flush_token_sessions(*, ended_before: datetime) -> int:
    """Delete API sessions that expired or were revoked before the cutoff.
    They can never be used again; reuse detection only needs recent ones."""
    sessions = TokenSession.objects.filter(
        Q(expires_at__lt=ended_before) | Q(revoked_at__lt=ended_before)
    )
    return _delete_in_batches(sessions)


def flush_rate_counters(*, now: datetime) -> int:
    """Delete throttle counters whose window has passed (database-cache
    deployments only; with Redis the counters expire there by themselves)."""
    return _delete_in_batches(RateCounter.objects.filter(expires_at__lte=now))


def prune_auth_events(*, created_before: datetime, execute: bool = False) -> int:
    """Delete audit events older than the cutoff (data minimisation: they hold
    IP addresses). Without `execute` only counts them (a dry run)."""
    events = AuthEvent.objects.filter(created_at__lt=created_before)
    if not execute:
        return events.count()
    return _delete_in_batches(events)


def _delete_in_batches(queryset) -> int:
    # Short transactions: one huge DELETE would hold its locks (and, for users,
    # build its whole cascade in memory) for as long as it runs.
    model = queryset.model
    deleted = 0
    while True:
        with transaction.atomic():
            pks = list(
                queryset.order_by().values_list("pk", flat=True)[:HOUSEKEEPING_BATCH]
            )
            if not pks:
                return deleted
            # Filtered again: a row that stopped matching meanwhile (an account
            # restored a moment ago) is left alone.
            _, per_model = queryset.filter(pk__in=pks).delete()
            deleted += per_model.get(model._meta.label, 0)
