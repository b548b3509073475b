"""Liveness and readiness: does this process reach what it needs to do its work."""

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone


def email_queue_stats() -> tuple[int, int]:
    """The number of READY tasks in the queue (due now or waiting for a retry),
    and how many seconds the oldest due one has waited (0 when none has)."""
    # Imported here: settings' LOGGING loads this package before the apps are
    # ready, and these modules define models.
    from django.db.models import Count, Min, Q
    from django_tasks_db.compat import TaskResultStatus
    from django_tasks_db.models import DBTaskResult, get_date_max

    now = timezone.now()
    stats = DBTaskResult.objects.filter(status=TaskResultStatus.READY).aggregate(
        depth=Count("pk"),
        # A task without run_after is due from the moment it was enqueued,
        # a retry from its run_after.
        enqueued=Min("enqueued_at", filter=Q(run_after=get_date_max())),
        scheduled=Min("run_after", filter=Q(run_after__lte=now)),
    )
    due_since = min(
        (moment for moment in (stats["enqueued"], stats["scheduled"]) if moment),
        default=None,
    )
    oldest = max(0, int((now - due_since).total_seconds())) if due_since else 0
    return stats["depth"], oldest


# ---------------------------------------------------------------------------
# Readiness
# ---------------------------------------------------------------------------
READINESS_PARTS = ("database", "cache", "email_queue")


def _database_answers() -> bool:
    try:
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return False
    return True


def _cache_answers(*, write: bool) -> bool:
    try:
        if write:
            # Throttles and lockout need writes: a read-only replica fails here.
            cache.set("health-ready-probe", "1", timeout=10)
        cache.get("health-ready-probe")
    except Exception:
        return False
    return True


def _state(ok: bool) -> str:
    return "ok" if ok else "unavailable"


def liveness() -> dict:
    """The cheap check: the database and the cache answer a read."""
    body = {
        "status": "ok",
        "database": _state(_database_answers()),
        "cache": _state(_cache_answers(write=False)),
    }
    if "unavailable" in body.values():
        body["status"] = "unavailable"
    return body


def readiness() -> dict:
    """Whether this process can do its work: the database and the cache answer,
    and the email queue moves (its oldest due task is younger than
    EMAIL_QUEUE_MAX_AGE; an older one means no worker is sending)."""
    body = {
        "status": "ok",
        "database": _state(_database_answers()),
        "cache": _state(_cache_answers(write=True)),
        "email_queue": "ok",
        "oldest_pending_seconds": None,
    }
    if body["database"] != "ok":
        body["email_queue"] = "unavailable"
    else:
        try:
            _, oldest = email_queue_stats()
        except Exception:
            body["email_queue"] = "unavailable"
        else:
            body["oldest_pending_seconds"] = oldest
            if oldest > settings.EMAIL_QUEUE_MAX_AGE:
                body["email_queue"] = "stalled"
    if any(body[part] != "ok" for part in READINESS_PARTS):
        body["status"] = "unavailable"
    return body
