"""Checking credentials."""

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import transaction
from django.utils import timezone

from accounts import throttles
from accounts.errors import (
    EmailNotVerified,
    InactiveAccount,
    InvalidCredentials,
    Throttled,
)
from accounts.models import AuthEvent, User
from accounts.services._base import (
    NO_CLIENT,
    Client,
    SignedIn,
    _identifier_hash,
    _record,
    security_log,
)
from accounts.services.sessions import _start_session


def may_sign_in_unverified(user: User) -> bool:
    return user.email_verified or settings.EMAIL_VERIFICATION != "mandatory"


def sign_in(
    *,
    identifier: str,
    password: str,
    client: Client = NO_CLIENT,
    issue_tokens: bool = False,
) -> SignedIn:
    """Check credentials (email or username). Updates last_login and records the
    attempt; the doors send user_logged_in, which carries the request. One answer
    for an unknown account and a wrong password, so the response never tells
    which accounts exist."""
    throttles.hit("signin", client.ip, identifier)
    try:
        throttles.check_lockout(identifier, client.ip)
    except Throttled:
        security_log.warning(
            "signin_locked",
            extra={
                "event": "signin_locked",
                "client_ip": client.ip,
                "identifier_hash": _identifier_hash(identifier),
            },
        )
        raise
    user = None
    if password and len(password) <= settings.PASSWORD_MAX_LENGTH:
        user = authenticate(None, username=identifier, password=password)
    if user is None:
        throttles.record_failure(identifier, client.ip)
        _record(
            None,
            AuthEvent.Type.SIGNIN_FAILED,
            client,
            identifier_hash=_identifier_hash(identifier),
        )
        raise InvalidCredentials()
    if not user.is_active:
        raise InactiveAccount()
    if not may_sign_in_unverified(user):
        raise EmailNotVerified()
    throttles.clear_failures(identifier, client.ip)
    with transaction.atomic():
        user.last_login = timezone.now()
        # (An outdated password hash was already upgraded by check_password.)
        user.save(update_fields=["last_login"])
        _record(user, AuthEvent.Type.SIGNIN_SUCCEEDED, client)
        tokens = _start_session(user, client) if issue_tokens else None
    return SignedIn(user=user, tokens=tokens)
