"""WebAuthn challenges: random, server-side, single use, five minutes.

The challenge itself stays in a PendingStep row; the client holds only an
opaque `challenge_token` whose digest names the row. A row is bound to its
ceremony (one PendingStep purpose per ceremony), to the account (none for a
passwordless sign-in) and its token_generation, and to the session that asked
(an API session id, a browser's "web:<key>", or "mfa:<step>" for the second
factor of a pending sign-in). Presented anywhere else it is simply not found:
the ceremony refuses it as it would refuse a used or expired one.
"""

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from accounts.models import PendingStep, User

CHALLENGE_LIFETIME = timedelta(minutes=5)
REGISTER = PendingStep.Purpose.WEBAUTHN_REGISTER
SIGNIN = PendingStep.Purpose.WEBAUTHN_SIGNIN
MFA = PendingStep.Purpose.WEBAUTHN_MFA
REAUTH = PendingStep.Purpose.WEBAUTHN_REAUTH
PURPOSES = (REGISTER, SIGNIN, MFA, REAUTH)


@dataclass(frozen=True)
class LiveChallenge:
    step: PendingStep
    challenge: bytes


def issue_challenge(
    purpose: str,
    *,
    challenge: bytes,
    user: User | None,
    session_id: str,
    replace_earlier: bool = False,
) -> str:
    """Store `challenge` for one ceremony and return its challenge_token.
    With `replace_earlier`, the binding's earlier unused challenges die (the
    second factor keeps one live challenge per mfa_token)."""
    now = timezone.now()
    bound = PendingStep.objects.filter(
        purpose=purpose, user=user, session_id=session_id, used_at__isnull=True
    )
    if replace_earlier:
        bound.update(used_at=now)
    # Rows nobody will ever present again: expired ones of this ceremony.
    PendingStep.objects.filter(purpose=purpose, expires_at__lte=now).delete()
    token = secrets.token_urlsafe(32)
    PendingStep.objects.create(
        purpose=purpose,
        digest=_digest(token),
        user=user,
        session_id=session_id,
        generation=user.token_generation if user is not None else None,
        payload={"challenge": _b64(challenge)},
        created_at=now,
        expires_at=now + CHALLENGE_LIFETIME,
    )
    return token


def live_challenge(
    purpose: str,
    challenge_token,
    *,
    user: User | None,
    session_id: str,
    lock: bool = False,
) -> LiveChallenge | None:
    """The unused, unexpired challenge `challenge_token` names for exactly this
    ceremony, account and session, or None. With `lock` (inside a
    transaction) the row stays locked until the caller marks it used."""
    if not isinstance(challenge_token, str) or not challenge_token:
        return None
    steps = PendingStep.objects.all()
    if lock:
        steps = steps.select_for_update()
    step = steps.filter(
        purpose=purpose,
        digest=_digest(challenge_token),
        user=user,
        session_id=session_id,
        used_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).first()
    if step is None:
        return None
    if user is not None and step.generation != user.token_generation:
        # The account's sessions were revoked since: so is the ceremony.
        return None
    return LiveChallenge(step=step, challenge=_unb64(step.payload["challenge"]))


def take_challenge(
    purpose: str, challenge_token, *, user: User | None, session_id: str
) -> LiveChallenge | None:
    """Like live_challenge, and the challenge is used up (whatever the
    assertion turns out to be). Call inside a transaction."""
    live = live_challenge(
        purpose, challenge_token, user=user, session_id=session_id, lock=True
    )
    if live is not None:
        use_challenge(live)
    return live


def use_challenge(live: LiveChallenge) -> None:
    # Conditional, so that of two racing requests only one gets the row.
    PendingStep.objects.filter(pk=live.step.pk, used_at__isnull=True).update(
        used_at=timezone.now()
    )


def mfa_binding(mfa_step: PendingStep) -> str:
    """The "session" of a second-factor challenge: the pending sign-in."""
    return f"mfa:{mfa_step.pk}"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text.encode())
