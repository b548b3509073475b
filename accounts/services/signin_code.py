"""Sign-in by a code emailed to the account's address (SIGNIN_BY_CODE).

The request creates an unbound PendingStep and answers its opaque code_token
for every address; the worker (accounts.tasks.answer_signin_code_request)
looks the address up, binds the step to the account and queues the email, and
the code itself is made when that email is rendered
(accounts.email_messages.signin_code). So the request does the same work
whatever the address (account enumeration by answer or timing), and the code
never sits in clear in the database or in the task queue.
"""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts import codes, emails, throttles
from accounts.assurance import EMAIL, Assurance
from accounts.client import NO_CLIENT, Client
from accounts.errors import InactiveAccount, InvalidSigninCode, NotFound
from accounts.managers import normalize_email
from accounts.models import AuthEvent, PendingStep, TokenSession, User
from accounts.services.audit import record
from accounts.services.mfa_signin import SecondFactorNeeded, start_second_factor
from accounts.services.revocation import revoke_all_tokens
from accounts.services.sessions import start_api_session
from accounts.services.signin import SignedIn

SIGNIN_CODE_LIFETIME = timedelta(minutes=10)
# Wrong answers one code takes before it dies: with 31**6 possible codes and the
# per-account bucket on top, guessing is hopeless.
SIGNIN_CODE_ATTEMPTS = 3
# Codes an account may hold at once: a person may ask again before the first
# email arrives, but a flood of requests must not multiply the guessable codes.
LIVE_CODES_PER_ACCOUNT = 3
PURPOSE = PendingStep.Purpose.SIGNIN_CODE


def signin_by_code_enabled() -> bool:
    return settings.SIGNIN_BY_CODE


def request_signin_code(*, email: str, client: Client = NO_CLIENT) -> str:
    """Start a code sign-in for `email`; returns the code_token (its plain value
    exists only in this answer). The same work and answer for any address: the
    lookup and the email are the worker's."""
    _require_enabled()
    throttles.hit("signin_code", client.ip)
    code_token = secrets.token_urlsafe(32)
    step = PendingStep.objects.create(
        purpose=PURPOSE,
        digest=_digest(code_token),
        expires_at=timezone.now() + SIGNIN_CODE_LIFETIME,
    )
    # Imported here: accounts.tasks imports the services package (cycle).
    from accounts.tasks import answer_signin_code_request

    # Only the step's id and the typed address go into the queue, never a code.
    answer_signin_code_request.enqueue(
        step_id=str(step.pk), email=normalize_email(email)
    )
    return code_token


def bind_signin_code(*, step_id: str, email: str) -> bool:
    """The worker's half of a code request: bind the step to the usable account
    holding `email` and queue the email with the code. Returns whether an email
    was queued. A 4th live code of an account kills its oldest."""
    user = User.objects.usable().with_email(email).first()
    if user is None:
        return False
    now = timezone.now()
    with transaction.atomic():
        # The row lock serialises requests of one account, so the live-code
        # cap cannot be overrun by parallel requests.
        user = User.objects.select_for_update().get(pk=user.pk)
        bound = PendingStep.objects.filter(
            pk=step_id,
            purpose=PURPOSE,
            user__isnull=True,
            used_at__isnull=True,
            expires_at__gt=now,
        ).update(
            user=user,
            generation=user.token_generation,
            payload={"email": user.email},
        )
        if not bound:
            return False
        surplus = _live_codes(user).order_by("-created_at")[LIVE_CODES_PER_ACCOUNT:]
        PendingStep.objects.filter(
            pk__in=list(surplus.values_list("pk", flat=True))
        ).update(used_at=now)
        emails.send_signin_code(user, step_id=step_id)
    return True


def make_signin_code(*, user: User, step_id: str) -> str | None:
    """A fresh code for a live step bound to `user`, only its digest stored on
    the step; None once the step is used, expired or outdated. Called when the
    email is rendered, so a retried email carries a new code."""
    step = _live_codes(user).filter(pk=step_id).first()
    if step is None:
        return None
    code = codes.random_code(codes.EMAILED_CODE_LENGTH)
    payload = {**step.payload, "code_digest": _code_digest(code, step)}
    written = _live_codes(user).filter(pk=step_id).update(payload=payload)
    return code if written else None


def sign_in_with_code(
    *,
    code_token: str,
    code: str,
    client: Client = NO_CLIENT,
    issue_tokens: bool = False,
    transport: str = TokenSession.Transport.BODY,
) -> SignedIn | SecondFactorNeeded:
    """Sign in with an emailed code and the code_token of its request. Any
    wrong part is one answer (InvalidSigninCode); wrong codes count against the
    code (3 kill it) and against the account (throttles.SIGNIN_CODE_FAILURES,
    its own bucket, apart from passwords). Proves the mailbox: the address
    becomes verified, and when it was not, every other session is revoked."""
    _require_enabled()
    throttles.hit("signin", client.ip)
    step = _step(code_token)
    if step is None or step.user is None:
        raise InvalidSigninCode()
    user = step.user
    subject = f"account:{user.pk}"
    throttles.check_slowdown(throttles.SIGNIN_CODE_FAILURES, subject)
    right = False
    with transaction.atomic():
        # Locked while the code is checked: two requests racing with one
        # code_token take turns, so it signs in once and takes 3 wrong tries.
        step = _live_codes(user).select_for_update().filter(pk=step.pk).first()
        if step is None or "code_digest" not in step.payload:
            raise InvalidSigninCode()
        now = timezone.now()
        if codes.matches(
            code, step.payload["code_digest"], purpose=PURPOSE, subject=str(step.pk)
        ):
            right = True
            step.used_at = now
        else:
            step.attempts += 1
            if step.attempts >= SIGNIN_CODE_ATTEMPTS:
                step.used_at = now
        step.save(update_fields=["attempts", "used_at"])
    if not right:
        throttles.record_slowdown_failure(throttles.SIGNIN_CODE_FAILURES, subject)
        raise InvalidSigninCode()
    throttles.clear_slowdown(throttles.SIGNIN_CODE_FAILURES, subject)
    user.refresh_from_db()
    if not user.is_usable:
        raise InactiveAccount()
    with transaction.atomic():
        if not user.email_verified:
            # First proof of this mailbox, from outside any session: whoever
            # held a session before (the address may have been mistyped at
            # sign-up, by someone else) is signed out.
            user.email_verified = True
            user.save(update_fields=["email_verified"])
            revoke_all_tokens(user)
            record(user, AuthEvent.Type.EMAIL_VERIFIED, client)
    if user.has_mfa:
        return start_second_factor(user=user, first_factor=EMAIL, client=client)
    with transaction.atomic():
        user.last_login = timezone.now()
        user.save(update_fields=["last_login"])
        record(user, AuthEvent.Type.SIGNIN_SUCCEEDED, client, method=EMAIL)
        proved = Assurance.proved(EMAIL)
        tokens = None
        if issue_tokens:
            tokens = start_api_session(
                user=user, assurance=proved, client=client, transport=transport
            )
    return SignedIn(user=user, tokens=tokens, assurance=proved)


def _require_enabled() -> None:
    if not signin_by_code_enabled():
        raise NotFound()


def _live_codes(user: User):
    # Dead once used, expired, or the account's sessions were revoked
    # (token_generation) or its address changed since the code was asked for.
    return PendingStep.objects.filter(
        purpose=PURPOSE,
        user=user,
        generation=user.token_generation,
        payload__email=user.email,
        used_at__isnull=True,
        expires_at__gt=timezone.now(),
    )


def _step(code_token) -> PendingStep | None:
    if not isinstance(code_token, str) or not code_token:
        return None
    return (
        PendingStep.objects.select_related("user")
        .filter(purpose=PURPOSE, digest=_digest(code_token))
        .first()
    )


def _digest(code_token: str) -> str:
    # An unguessable random value needs no slow hash: the digest only keeps
    # the table alone from being enough to finish a sign-in.
    return hashlib.sha256(f"signin_code|{code_token}".encode()).hexdigest()


def _code_digest(code: str, step: PendingStep) -> str:
    return codes.digest(code, purpose=PURPOSE, subject=str(step.pk))
