"""Answering forgot-password and resend-verification requests."""

from accounts import throttles
from accounts.client import Client
from accounts.errors import Throttled
from accounts.managers import normalize_email
from accounts.models import User
from accounts.services.audit import security_log
from accounts.tasks import answer_recovery_request


def queue_recovery(kind: str, email: str, client: Client) -> None:
    """Answer a forgot-password or resend request: count the client, queue the
    address, nothing more.

    The account lookup and the email happen in the worker, so the request does
    the same work and queries whether or not the address is registered
    (enumeration by response time). The client's address may 429; the target
    address never does here: a limit per target would let anyone lock its owner
    out of recovery, and tell them the address is being asked for."""
    throttles.hit("password", client.ip)
    # Only the typed address and the client go into the queue: the link and its
    # token are made when the email is rendered (token leakage from the queue).
    answer_recovery_request.enqueue(
        kind=kind,
        email=normalize_email(email),
        ip=client.ip,
        user_agent=client.user_agent,
    )


def within_recovery_cap(kind: str, user: User) -> bool:
    """Whether `user` may receive one more recovery email of this kind this hour.

    Caps the flood an attacker can send to someone's mailbox. Withholding the
    email never locks the owner out: when the cap is reached their mailbox
    already holds this hour's links, and each of them still works."""
    try:
        throttles.hit("recovery_email", f"{kind}:{user.pk}")
    except Throttled:
        security_log.info(
            "%s email withheld: hourly cap reached",
            kind,
            extra={"event": "recovery_email_capped", "user_id": str(user.pk)},
        )
        return False
    return True
