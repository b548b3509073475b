"""Checking credentials."""

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import transaction
from django.utils import timezone

from accounts import devices, throttles
from accounts.assurance import NONE, PASSWORD, Assurance
from accounts.client import NO_CLIENT, Client
from accounts.errors import (
    EmailNotVerified,
    InactiveAccount,
    InvalidCredentials,
    Throttled,
)
from accounts.managers import normalize_username
from accounts.models import AuthEvent, TokenSession, User
from accounts.services.audit import record, security_log
from accounts.services.mfa_signin import SecondFactorNeeded, start_second_factor
from accounts.services.sessions import start_api_session
from accounts.tokens import TokenPair


@dataclass(frozen=True)
class SignedIn:
    user: User
    tokens: TokenPair | None
    # What the sign-in proved; a browser door keeps it in its session.
    assurance: Assurance = NONE


def may_sign_in_unverified(user: User) -> bool:
    return user.email_verified or settings.EMAIL_VERIFICATION != "mandatory"


def sign_in(
    *,
    identifier: str,
    password: str,
    client: Client = NO_CLIENT,
    issue_tokens: bool = False,
    device: str | None = None,
    transport: str = TokenSession.Transport.BODY,
) -> SignedIn | SecondFactorNeeded:
    """Check credentials (email or username). Updates last_login and records the
    attempt; the doors send user_logged_in, which carries the request. One answer
    for an unknown account and a wrong password, so the response never tells
    which accounts exist.

    For an account with a second factor a right password signs nobody in: the
    answer is SecondFactorNeeded (an mfa_token), and last_login, the session
    and the tokens wait for complete_second_factor.

    `device` is the browser's identity_device cookie, if any: when it vouches
    for this account, the per-account slowdown does not apply (the owner's own
    browser keeps working while strangers guess)."""
    throttles.hit("signin", client.ip)
    account = User.objects.for_login(identifier)
    subject = _throttle_subject(identifier, account)
    try:
        throttles.check_lockout(subject, client.ip)
        if not devices.vouches_for(device, account):
            throttles.check_slowdown(throttles.PASSWORD_FAILURES, subject)
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
        user = authenticate(
            None, username=identifier, password=password, looked_up=account
        )
    if user is None:
        throttles.record_failure(subject, client.ip)
        throttles.record_slowdown_failure(throttles.PASSWORD_FAILURES, subject)
        record(
            None,
            AuthEvent.Type.SIGNIN_FAILED,
            client,
            identifier_hash=_identifier_hash(identifier),
        )
        raise InvalidCredentials()
    if not user.is_usable:
        raise InactiveAccount()
    if not may_sign_in_unverified(user):
        raise EmailNotVerified()
    throttles.clear_failures(subject, client.ip)
    if user.has_mfa:
        return start_second_factor(user=user, first_factor=PASSWORD, client=client)
    with transaction.atomic():
        user.last_login = timezone.now()
        # (An outdated password hash was already upgraded by check_password.)
        user.save(update_fields=["last_login"])
        record(user, AuthEvent.Type.SIGNIN_SUCCEEDED, client)
        proved = Assurance.proved(PASSWORD)
        tokens = None
        if issue_tokens:
            tokens = start_api_session(
                user=user, assurance=proved, client=client, transport=transport
            )
    return SignedIn(user=user, tokens=tokens, assurance=proved)


def _throttle_subject(identifier: str, account: User | None) -> str:
    """What the sign-in limits count against: the account itself, so that every
    spelling that reaches it (case, full-width, other NFKC variants) shares one
    count; for an identifier that names no account, its normalised form, so an
    unknown account is limited exactly like a real one (no enumeration)."""
    if account is not None:
        return f"account:{account.pk}"
    return "identifier:" + normalize_username(identifier or "").lower()


def _identifier_hash(identifier: str) -> str:
    # Failed sign-ins are logged without the identifier itself (it may be a
    # password typed into the wrong field); a keyed hash still correlates them.
    digest = hashlib.blake2b(
        (identifier or "").strip().lower().encode(),
        key=settings.SECRET_KEY.encode()[:64],
        digest_size=8,
    )
    return digest.hexdigest()
