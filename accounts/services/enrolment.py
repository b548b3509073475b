"""The emailed code that a confined session needs to enrol its first factor.

MFA_REQUIRED confines a session that has only proved a password; that session
may set up a second factor. Without more, whoever stole the password would
enrol their own authenticator app and hold the account for good. So enrolling
from a confined session also needs a code sent to the account's address: the
password alone is never enough to add a factor.
"""

import secrets
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts import codes, emails
from accounts.assurance import Assurance
from accounts.client import NO_CLIENT, Client
from accounts.errors import EnrolCodeInvalid, EnrolCodeMissing, EnrolCodeNotNeeded
from accounts.models import PendingStep, User
from accounts.services.confinement import is_confined

ENROL_CODE_LIFETIME = timedelta(minutes=10)
# Wrong answers one code takes before it dies (guessing, on top of the API's
# per-user throttle and the code's ten minutes).
ENROL_CODE_ATTEMPTS = 5


def send_enrol_code(
    *, user: User, assurance: Assurance, client: Client = NO_CLIENT
) -> None:
    """Email a code that lets this confined session enrol a factor.

    Queues the email; replaces the session's earlier code. The code itself is
    made when the email is sent (accounts.email_messages.enrol_code), so it
    never sits in the task queue."""
    if not is_confined(user=user, assurance=assurance):
        raise EnrolCodeNotNeeded()
    now = timezone.now()
    with transaction.atomic():
        _live_codes(user, assurance).update(used_at=now)
        step = PendingStep.objects.create(
            purpose=PendingStep.Purpose.ENROL_CODE,
            # Until the worker writes the code's digest: a value no code has.
            digest=secrets.token_hex(32),
            user=user,
            session_id=assurance.session_id or "",
            generation=user.token_generation,
            expires_at=now + ENROL_CODE_LIFETIME,
        )
        emails.send_enrol_code(user, step_id=str(step.pk))


def check_enrol_code(*, user: User, assurance: Assurance, email_code) -> None:
    """Use up the session's emailed code, when the session is confined; a
    missing or wrong code is a field error on `email_code`.

    Called by factor enrolment (TOTP confirm, passkey registration) after the
    factor's own proof succeeded and before the factor is saved. A wrong code
    is counted in its own transaction: call this outside any transaction that
    a later failure would roll back, or the count goes with it."""
    if not is_confined(user=user, assurance=assurance):
        return
    if not isinstance(email_code, str) or not email_code.strip():
        raise EnrolCodeMissing()
    with transaction.atomic():
        step = _live_codes(user, assurance).select_for_update().first()
        if step is None:
            raise EnrolCodeInvalid()
        if not codes.matches(
            email_code, step.digest, purpose=step.purpose, subject=str(step.pk)
        ):
            _count_wrong_answer(step)
        else:
            step.used_at = timezone.now()
            step.save(update_fields=["used_at"])
            return
    raise EnrolCodeInvalid()


def _count_wrong_answer(step: PendingStep) -> None:
    PendingStep.objects.filter(pk=step.pk).update(attempts=F("attempts") + 1)
    if step.attempts + 1 >= ENROL_CODE_ATTEMPTS:
        PendingStep.objects.filter(pk=step.pk).update(used_at=timezone.now())


def _live_codes(user: User, assurance: Assurance):
    # Bound to the session that asked, and dead once the account's sessions
    # were revoked (token_generation) or the ten minutes are up.
    return PendingStep.objects.filter(
        purpose=PendingStep.Purpose.ENROL_CODE,
        user=user,
        session_id=assurance.session_id or "",
        generation=user.token_generation,
        used_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).order_by("-created_at")
