"""The audit trail: every account event is a row for the owner's security page
and a line in the security log."""

import logging

from accounts.client import Client
from accounts.models import AuthEvent, User

security_log = logging.getLogger("accounts.security")


def record(user: User | None, event: str, client: Client, **detail) -> None:
    if client.door:
        # A service may name the door itself (it knows better, e.g. a browser
        # session revoked through the API); otherwise the request's door.
        detail.setdefault("door", client.door)
    AuthEvent.objects.create(
        user=user,
        type=event,
        ip=client.ip,
        user_agent=client.user_agent,
        detail=detail,
    )
    security_log.info(
        "%s",
        event,
        extra={
            "event": str(event),
            "user_id": str(user.pk) if user else None,
            "client_ip": client.ip,
            **detail,
        },
    )
