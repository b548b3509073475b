""" "Your data": one document of what the service holds about an account, for
its owner to download.

The document is built from an allow-list of fields, never from whole rows, so a
column added later (a hash, a secret, a token id) stays out of it until someone
decides it belongs there.
"""

import re
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts import emails, throttles
from accounts.assurance import Assurance
from accounts.client import Client
from accounts.models import AuthEvent, TokenSession, User
from accounts.services.audit import record
from accounts.services.reauthentication import require_recent_auth

# Detail keys naming whoever, other than the owner, caused an event.
ACTOR_KEYS = ("by", "created_by", "actor")
SYSTEM = "system"
STAFF = "staff"
_UNSAFE_IN_FILENAME = re.compile(r"[^A-Za-z0-9_-]+")


def export_account_data(*, user: User, assurance: Assurance, client: Client) -> dict:
    """The owner's data as a JSON-ready dict. Needs a recent sign-in (a stolen
    or unattended session must not walk away with the account's history) and
    counts against the account's `export` rate, whatever session asks."""
    require_recent_auth(user=user, assurance=assurance)
    throttles.hit("export", f"account:{user.pk}")
    with transaction.atomic():
        record(user, AuthEvent.Type.EXPORT, client, door=_door(assurance))
        # The owner hears of every export: a thief with a fresh sign-in can
        # still take the data, but not unnoticed.
        emails.send_data_exported(user)
    return _document(user)


def export_filename(document: dict) -> str:
    """identity-export-<username>-<date>.json, the username reduced to
    characters no browser or file system reads as a path or a quote."""
    name = _UNSAFE_IN_FILENAME.sub("_", document["user"]["username"]).strip("_")
    return f"identity-export-{name or 'account'}-{document['exported_at'][:10]}.json"


def _door(assurance: Assurance) -> str:
    session = assurance.session_id or ""
    return "web" if session.startswith("web:") else "api"


def _document(user: User) -> dict:
    pending = user.live_pending_email
    return {
        "exported_at": _time(timezone.now()),
        "user": {
            "id": str(user.pk),
            "username": user.username,
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "email_verified": user.email_verified,
            "is_active": user.is_active,
            "date_joined": _time(user.date_joined),
            "last_login": _time(user.last_login),
            "tier": user.tier.name if user.tier_id else None,
            "pending_email": pending,
        },
        "pending_email": pending,
        "sessions": [
            {
                "kind": "api",
                "id": str(session.pk),
                "created_at": _time(session.created_at),
                "last_used_at": _time(session.last_used_at),
                "expires_at": _time(session.expires_at),
                "ip": session.ip,
                "user_agent": session.user_agent,
                "revoked_at": _time(session.revoked_at),
            }
            for session in TokenSession.objects.filter(user=user).order_by(
                "-created_at"
            )
        ]
        + [
            {
                "kind": "browser",
                "id": str(session.pk),
                "created_at": _time(session.created_at),
                "last_used_at": _time(session.last_seen_at),
                "ip": session.ip,
                "user_agent": session.user_agent,
                "revoked_at": _time(session.revoked_at),
            }
            for session in user.browser_sessions.order_by("-created_at")
        ],
        "events": [
            _event(event)
            for event in AuthEvent.objects.filter(user=user).order_by("-created_at")
        ],
        "authenticators": [
            {
                "kind": authenticator.kind,
                "name": authenticator.name,
                "created_at": _time(authenticator.created_at),
                "last_used_at": _time(authenticator.last_used_at),
            }
            for authenticator in user.authenticators.order_by("created_at")
        ],
        "recovery_codes": {
            "remaining": user.recovery_codes.filter(used_at__isnull=True).count()
        },
    }


def event_actor(event: AuthEvent) -> str | None:
    """The role ("staff" or "system") of whoever other than the owner caused
    `event`, or None for the owner's own. The owner learns that staff acted,
    not which staff member nor from where: such an event's address and user
    agent are the staff member's, not the owner's."""
    detail = event.detail if isinstance(event.detail, dict) else {}
    actor = next((detail[key] for key in ACTOR_KEYS if detail.get(key)), None)
    if actor is None:
        return None
    return SYSTEM if actor == SYSTEM else STAFF


def _event(event: AuthEvent) -> dict:
    detail = event.detail if isinstance(event.detail, dict) else {}
    door = detail.get("door")
    actor = event_actor(event)
    return {
        "type": event.type,
        "created_at": _time(event.created_at),
        "ip": None if actor else event.ip,
        "door": door if isinstance(door, str) else None,
        "actor": actor,
    }


def _time(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
