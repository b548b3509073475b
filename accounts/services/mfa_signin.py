"""Two-factor sign-in: after a correct first factor, an account with a second
factor gets an mfa_token instead of a session; only a right code on it signs in.

The mfa_token is a PendingStep: the client holds an opaque random value, the
table holds its digest, the account, the account's token_generation and the
first factor proved. It lives MFA_TOKEN_LIFETIME seconds and dies on success
or on its MFA_TOKEN_ATTEMPTS-th wrong answer (always, whatever THROTTLE_RATES
says). Wrong answers also count per account, across every mfa_token, session
and door (throttles.SECOND_FACTOR_FAILURES, and `second_factor_failures` on the
user row for the "in a row" rule), and the owner hears of them by email.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts import emails, throttles
from accounts.assurance import PASSKEY, Assurance
from accounts.client import NO_CLIENT, Client
from accounts.errors import (
    InvalidCode,
    InvalidMfaToken,
    PasskeyRejected,
    SecondFactorLocked,
)
from accounts.models import AuthEvent, PendingStep, TokenSession, User
from accounts.services.audit import record
from accounts.services.factor_reset import cancel_factor_reset
from accounts.services.passkey_assertions import check_assertion
from accounts.services.second_factor import mfa_methods, verify_second_factor
from accounts.services.sessions import start_api_session
from accounts.services.webauthn_challenges import MFA, mfa_binding, take_challenge
from accounts.tokens import TokenPair

MFA_TOKEN_LIFETIME = 300
MFA_TOKEN_ATTEMPTS = 5
# Wrong answers in a row (no success between them, however far apart) after
# which second-factor sign-in stays refused until a password reset by email.
FAILURES_IN_A_ROW_LIMIT = 100
# At most one failed-second-factor notice per account in this many seconds.
NOTICE_INTERVAL = 3600
# The longest an mfa_token is accepted, for Throttled's Retry-After when the
# refusal has no end of its own (the in-a-row rule).
LOCKED_RETRY_AFTER = 15 * 60
# The stored user agent is cut here: the notice quotes it, a page need not.
USER_AGENT_NOTED = 200

INVALID_CODE = "invalid_code"
ABANDONED = "abandoned"


@dataclass(frozen=True)
class SecondFactorNeeded:
    """The first factor was right; the account must now prove a second one
    with `mfa_token` (its plain value exists only in this answer)."""

    user: User
    mfa_token: str
    methods: list[str]
    expires_in: int = MFA_TOKEN_LIFETIME


@dataclass(frozen=True)
class SecondFactorPassed:
    user: User
    tokens: TokenPair | None
    assurance: Assurance


def start_second_factor(
    *, user: User, first_factor: str, client: Client = NO_CLIENT
) -> SecondFactorNeeded:
    """Issue an mfa_token for an account whose `first_factor` (assurance.PASSWORD,
    later an emailed code) was just proved. Refused (Throttled) while the
    account's second factor is slowed down or locked: no new token to guess
    with. Reports this account's earlier sign-ins that were left unfinished."""
    _refuse_while_limited(user, consume=False)
    _report_abandoned(PendingStep.objects.filter(user=user))
    mfa_token = secrets.token_urlsafe(32)
    now = timezone.now()
    PendingStep.objects.create(
        purpose=PendingStep.Purpose.MFA_SIGNIN,
        digest=_digest(mfa_token),
        user=user,
        generation=user.token_generation,
        payload={
            "amr": [first_factor],
            "ip": client.ip,
            "user_agent": client.user_agent[:USER_AGENT_NOTED],
        },
        created_at=now,
        expires_at=now + timedelta(seconds=MFA_TOKEN_LIFETIME),
    )
    return SecondFactorNeeded(user=user, mfa_token=mfa_token, methods=mfa_methods(user))


def complete_second_factor(
    *,
    mfa_token: str,
    code: str | None = None,
    challenge_token: str | None = None,
    credential=None,
    client: Client = NO_CLIENT,
    issue_tokens: bool = False,
    transport: str = TokenSession.Transport.BODY,
) -> SecondFactorPassed:
    """Sign in with an mfa_token and a code (6 digits: TOTP; anything else: a
    recovery code), or a passkey: the `credential` answering the challenge of
    `challenge_token` (from options for purpose "mfa" with this mfa_token).
    Sets last_login and, when asked, starts an API session of level 2.

    A wrong code is InvalidCode, a passkey that does not verify
    InvalidCredential (a wrong origin or rp id, no UP or UV: PasskeyRejected);
    each counts everywhere a wrong code counts. An unknown, expired, used or
    outdated mfa_token is InvalidMfaToken; a used, replaced or foreign
    challenge is PasskeyRejected and counts nothing."""
    step = _live_step(mfa_token)
    user = step.user
    _refuse_while_limited(user, consume=True)
    wrong = InvalidCode()
    with transaction.atomic():
        # Locked while the code is checked: two requests racing with one token
        # take turns, so it can never sign in twice or exceed its attempts.
        step = _live_step(mfa_token, lock=True)
        if credential is not None:
            live = take_challenge(
                MFA, challenge_token, user=user, session_id=mfa_binding(step)
            )
            if live is None:
                raise PasskeyRejected()
            checked = check_assertion(live, credential, owner=user, client=client)
            method = PASSKEY if checked.passkey is not None else None
            if method is None:
                wrong = checked.error()
        else:
            method = verify_second_factor(user=user, code=code)
        now = timezone.now()
        if method is None:
            step.attempts += 1
            if step.attempts >= MFA_TOKEN_ATTEMPTS:
                step.used_at = now  # the per-token rule: this one is dead
            step.save(update_fields=["attempts", "used_at"])
            _count_failure(user, client, reason=INVALID_CODE, at=now)
        else:
            step.used_at = now
            step.save(update_fields=["used_at"])
            assurance = Assurance.proved(*step.payload.get("amr", ()), method)
            User.objects.filter(pk=user.pk).update(
                last_login=now, second_factor_failures=0
            )
            user.last_login = now
            record(user, AuthEvent.Type.SIGNIN_SUCCEEDED, client, amr=assurance.amr)
            tokens = None
            if issue_tokens:
                tokens = start_api_session(
                    user=user,
                    assurance=assurance,
                    client=client,
                    transport=transport,
                )
    if method is None:
        # Raised after the commit: the wrong answer stays counted.
        raise wrong
    throttles.clear_slowdown(throttles.SECOND_FACTOR_FAILURES, _subject(user))
    # The owner still holds a factor: a staff-started reset of them is moot
    # (and may be an attacker's social engineering), so it ends here.
    cancel_factor_reset(user=user, reason="signed_in_with_factor", client=client)
    return SecondFactorPassed(user=user, tokens=tokens, assurance=assurance)


def report_abandoned_sign_ins() -> int:
    """Tell owners of second-factor sign-ins left unfinished until their
    mfa_token expired, then delete every expired mfa_token. Run by the
    housekeeping command; returns how many were reported."""
    return _report_abandoned(PendingStep.objects.all())


def live_mfa_step(mfa_token) -> PendingStep:
    """The pending sign-in an mfa_token names (InvalidMfaToken otherwise),
    for the second factor's passkey options; nothing is used up."""
    return _live_step(mfa_token)


def refuse_while_limited(user: User) -> None:
    """Throttled while the account's second factor is slowed down or locked
    (asking for passkey options then would be pointless)."""
    _refuse_while_limited(user, consume=False)


def _refuse_while_limited(user: User, *, consume: bool) -> None:
    if not throttles.enabled():
        return
    current = User.objects.filter(pk=user.pk).values_list(
        "second_factor_failures", flat=True
    )
    if current.first() >= FAILURES_IN_A_ROW_LIMIT:
        raise SecondFactorLocked(retry_after=LOCKED_RETRY_AFTER)
    if consume:
        throttles.check_slowdown(throttles.SECOND_FACTOR_FAILURES, _subject(user))
    else:
        throttles.check_slowed(throttles.SECOND_FACTOR_FAILURES, _subject(user))


def _live_step(mfa_token: str, *, lock: bool = False) -> PendingStep:
    if not isinstance(mfa_token, str) or not mfa_token:
        raise InvalidMfaToken()
    steps = PendingStep.objects.select_related("user")
    if lock:
        steps = steps.select_for_update(of=("self",))
    step = steps.filter(
        purpose=PendingStep.Purpose.MFA_SIGNIN,
        digest=_digest(mfa_token),
        used_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).first()
    # Bound to the generation it was made in: a password reset or sign-out
    # everywhere in between kills it, like every other token of the account.
    if (
        step is None
        or step.user is None
        or not step.user.is_usable
        or step.generation != step.user.token_generation
    ):
        raise InvalidMfaToken()
    return step


def _count_failure(user: User, client: Client, *, reason: str, at) -> None:
    if throttles.enabled():
        User.objects.filter(pk=user.pk).update(
            second_factor_failures=F("second_factor_failures") + 1
        )
        throttles.record_slowdown_failure(
            throttles.SECOND_FACTOR_FAILURES, _subject(user)
        )
    record(user, AuthEvent.Type.MFA_SIGNIN_FAILED, client, reason=reason)
    _notify_owner(
        user, reason=reason, at=at, ip=client.ip, user_agent=client.user_agent
    )


def _report_abandoned(steps) -> int:
    """Report the expired, never used mfa_tokens among `steps` (a sign-in
    whose password was right and whose second factor never came), then
    delete every expired one."""
    now = timezone.now()
    expired = steps.filter(purpose=PendingStep.Purpose.MFA_SIGNIN, expires_at__lte=now)
    reported = 0
    for step in expired.filter(used_at__isnull=True, attempts=0).select_related("user"):
        if step.user is None:
            continue
        payload = step.payload or {}
        client = Client(ip=payload.get("ip"), user_agent=payload.get("user_agent", ""))
        record(step.user, AuthEvent.Type.MFA_SIGNIN_FAILED, client, reason=ABANDONED)
        _notify_owner(
            step.user,
            reason=ABANDONED,
            at=step.created_at,
            ip=client.ip,
            user_agent=client.user_agent,
        )
        reported += 1
    expired.delete()
    return reported


def _notify_owner(user: User, *, reason: str, at, ip, user_agent: str) -> None:
    """Email the owner that someone knew the first factor but not the second,
    at most once per NOTICE_INTERVAL (the conditional update makes two racing
    failures send one notice)."""
    now = timezone.now()
    claimed = (
        User.objects.filter(pk=user.pk)
        .filter(
            Q(second_factor_alerted_at__isnull=True)
            | Q(second_factor_alerted_at__lte=now - timedelta(seconds=NOTICE_INTERVAL))
        )
        .update(second_factor_alerted_at=now)
    )
    if claimed and user.is_usable:
        emails.send_second_factor_failed(
            user,
            abandoned=reason == ABANDONED,
            attempted_at=at,
            ip=ip or "",
            device=(user_agent or "")[:USER_AGENT_NOTED],
        )


def _subject(user: User) -> str:
    # The same key as the password limits (services.signin): the account.
    return f"account:{user.pk}"


def _digest(mfa_token: str) -> str:
    return hashlib.sha256(mfa_token.encode()).hexdigest()
