"""Checking a second factor: an authenticator-app code or a recovery code."""

from django.db import transaction
from django.utils import timezone

from accounts import codes, emails, encryption, otp
from accounts.assurance import OTP, RECOVERY_CODE
from accounts.client import NO_CLIENT, Client
from accounts.models import Authenticator, AuthEvent, RecoveryCode, User
from accounts.services.audit import record

RECOVERY_PURPOSE = "recovery"


def mfa_methods(user: User) -> list[str]:
    """The second factors the account can answer with, as the sign-in's 202
    answer names them: `totp`, `recovery_code`, `passkey`."""
    kinds = set(user.authenticators.values_list("kind", flat=True))
    methods = []
    if Authenticator.Kind.TOTP in kinds:
        methods.append("totp")
    if kinds and user.recovery_codes.filter(used_at__isnull=True).exists():
        methods.append("recovery_code")
    if Authenticator.Kind.PASSKEY in kinds:
        methods.append("passkey")
    return methods


def verify_second_factor(
    *, user: User, code: str, client: Client = NO_CLIENT
) -> str | None:
    """The method a typed code proves (assurance.OTP or RECOVERY_CODE), or None.

    Six digits are always read as a TOTP code; anything else as a recovery
    code. A TOTP step and a recovery code each work once: the row is locked
    while it is checked and marked, so two requests racing with one code
    cannot both succeed. Using a recovery code is audited and queues a notice
    to the owner (a thief with the password and a stolen code shows up)."""
    if not isinstance(code, str):
        return None
    typed = code.strip()
    if len(typed) == otp.DIGITS and typed.isdigit():
        return OTP if _verify_totp(user, typed) else None
    return RECOVERY_CODE if _use_recovery_code(user, typed, client) else None


def _verify_totp(user: User, typed: str) -> bool:
    with transaction.atomic():
        authenticator = (
            Authenticator.objects.select_for_update()
            .filter(user=user, kind=Authenticator.Kind.TOTP)
            .first()
        )
        if authenticator is None:
            return False
        step = otp.matching_step(
            encryption.decrypt(authenticator.secret),
            typed,
            last_step=authenticator.last_step,
        )
        if step is None:
            return False
        authenticator.last_step = step
        authenticator.last_used_at = timezone.now()
        authenticator.save(update_fields=["last_step", "last_used_at"])
    return True


def _use_recovery_code(user: User, typed: str, client: Client) -> bool:
    digest = codes.digest(typed, purpose=RECOVERY_PURPOSE, subject=str(user.pk))
    with transaction.atomic():
        # Matched by digest (an index lookup, no secret comparison in Python);
        # the update claims it, so a second use of the same code finds nothing.
        used = RecoveryCode.objects.filter(
            user=user, digest=digest, used_at__isnull=True
        ).update(used_at=timezone.now())
        if used == 1:
            remaining = user.recovery_codes.filter(used_at__isnull=True).count()
            record(user, AuthEvent.Type.RECOVERY_CODE_USED, client, remaining=remaining)
            emails.send_recovery_code_used(user, remaining=remaining)
    return used == 1
