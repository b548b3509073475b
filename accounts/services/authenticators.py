"""Managing second factors: setting up and removing an authenticator app
(TOTP), and the recovery codes that stand in for a lost factor.

Recovery codes exist exactly while the account has a second factor: the first
factor brings a set, removing the last one takes it away.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts import codes, emails, encryption, otp
from accounts.assurance import OTP, Assurance
from accounts.client import NO_CLIENT, Client
from accounts.errors import (
    EmailUnverified,
    InvalidCode,
    MfaRequired,
    NoPendingSetup,
    NoSecondFactor,
    ReauthenticationRequired,
    TotpEnabled,
)
from accounts.models import (
    Authenticator,
    AuthEvent,
    PendingStep,
    RecoveryCode,
    User,
)
from accounts.services.audit import record
from accounts.services.confinement import mfa_required_for
from accounts.services.enrolment import check_enrol_code
from accounts.services.reauthentication import require_recent_auth
from accounts.services.revocation import revoke_other_sessions
from accounts.services.second_factor import RECOVERY_PURPOSE
from accounts.services.sessions import record_session_assurance

# Long enough to open an app, scan the code and type the first number.
TOTP_SETUP_LIFETIME = timedelta(minutes=5)
TOTP_NAME = "Authenticator app"


@dataclass(frozen=True)
class MfaStatus:
    totp: Authenticator | None
    recovery_codes_remaining: int
    passkeys: tuple[Authenticator, ...] = ()


@dataclass(frozen=True)
class TotpSetup:
    secret: str
    otpauth_uri: str
    qr_svg: str


@dataclass(frozen=True)
class TotpConfirmed:
    # Shown once, XXXXX-XXXXX; empty unless this was the account's first factor.
    recovery_codes: list[str]
    # What the confirming session has proved now (raised to level 2 when this
    # was the first factor); a browser door stores it in its session.
    assurance: Assurance
    first_factor: bool


def _check_pending_code(user: User, session_id: str, code: str) -> None:
    pending = _live_setups(user, session_id).order_by("-created_at").first()
    if pending is None:
        raise NoPendingSetup()
    secret = encryption.decrypt(pending.payload["secret"])
    if otp.matching_step(secret, code, last_step=None) is None:
        raise InvalidCode()


def mfa_status(*, user: User) -> MfaStatus:
    factors = list(user.authenticators.order_by("created_at", "pk"))
    return MfaStatus(
        totp=next((f for f in factors if f.kind == Authenticator.Kind.TOTP), None),
        recovery_codes_remaining=user.recovery_codes.filter(
            used_at__isnull=True
        ).count(),
        passkeys=tuple(f for f in factors if f.kind == Authenticator.Kind.PASSKEY),
    )


def start_totp_setup(
    *, user: User, assurance: Assurance, client: Client = NO_CLIENT
) -> TotpSetup:
    """Start setting up an authenticator app in this session: a new secret,
    kept encrypted in a pending step bound to the session (it replaces the
    session's earlier one) until a first code confirms it."""
    require_recent_auth(user=user, assurance=assurance)
    session_id = session_of(assurance)
    require_verified_address(user)
    if user.authenticators.filter(kind=Authenticator.Kind.TOTP).exists():
        raise TotpEnabled()
    secret = otp.new_secret()
    now = timezone.now()
    with transaction.atomic():
        _pending_setups(user, session_id).delete()
        PendingStep.objects.create(
            purpose=PendingStep.Purpose.TOTP_SETUP,
            # Nothing is handed to the client (the session is the key); the
            # digest column is unique, so it gets a random value of its own.
            digest=hashlib.sha256(secrets.token_bytes(32)).hexdigest(),
            user=user,
            session_id=session_id,
            generation=user.token_generation,
            payload={"secret": encryption.encrypt(secret)},
            created_at=now,
            expires_at=now + TOTP_SETUP_LIFETIME,
        )
    return _setup_of(user, secret)


def pending_totp_setup(*, user: User, assurance: Assurance) -> TotpSetup | None:
    """The set-up this session started and has not confirmed, to show again."""
    if not assurance.session_id:
        return None
    pending = _live_setups(user, assurance.session_id).order_by("-created_at").first()
    if pending is None:
        return None
    return _setup_of(user, encryption.decrypt(pending.payload["secret"]))


def confirm_totp(
    *,
    user: User,
    code: str,
    assurance: Assurance,
    client: Client = NO_CLIENT,
    email_code: str | None = None,
    keep_browser_session_id: str | None = None,
) -> TotpConfirmed:
    """Turn the session's pending authenticator app on with its first code.

    Records the code's time step as used (it cannot sign in later), queues the
    notice. When this is the account's first factor: returns a new set of
    recovery codes, raises this session to level 2 and ends every other API
    session and browser sign-in (whoever signed in with the password alone
    before must not keep a session the second factor now protects)."""
    require_recent_auth(user=user, assurance=assurance)
    session_id = session_of(assurance)
    # A confined session (MFA_REQUIRED) also proves the mailbox, so a password
    # alone cannot enrol a factor. The app's code is checked first, so a wrong
    # one costs no emailed code; the emailed code is used up outside the
    # transaction below, so its wrong-answer count survives a later failure.
    _check_pending_code(user, session_id, code)
    check_enrol_code(user=user, assurance=assurance, email_code=email_code)
    with transaction.atomic():
        # The account row is the lock: two confirmations (from two sessions)
        # cannot both see "no factor yet" and both hand out recovery codes.
        User.objects.select_for_update().only("pk").get(pk=user.pk)
        pending = (
            _live_setups(user, session_id)
            .select_for_update()
            .order_by("-created_at")
            .first()
        )
        if pending is None:
            raise NoPendingSetup()
        require_verified_address(user)
        if user.authenticators.filter(kind=Authenticator.Kind.TOTP).exists():
            raise TotpEnabled()
        secret = encryption.decrypt(pending.payload["secret"])
        step = otp.matching_step(secret, code, last_step=None)
        if step is None:
            raise InvalidCode()
        pending.used_at = timezone.now()
        pending.save(update_fields=["used_at"])
        added = add_factor(
            user,
            Authenticator(
                user=user,
                kind=Authenticator.Kind.TOTP,
                name=TOTP_NAME,
                secret=encryption.encrypt(secret),
                # The confirming code is spent: replaying it at sign-in fails.
                last_step=step,
            ),
            method=OTP,
            assurance=assurance,
            client=client,
            keep_browser_session_id=keep_browser_session_id,
        )
    return TotpConfirmed(
        recovery_codes=added.recovery_codes,
        assurance=added.assurance,
        first_factor=added.first_factor,
    )


@dataclass(frozen=True)
class FactorAdded:
    authenticator: Authenticator
    recovery_codes: list[str]
    assurance: Assurance
    first_factor: bool


def add_factor(
    user: User,
    authenticator: Authenticator,
    *,
    method: str,
    assurance: Assurance,
    client: Client = NO_CLIENT,
    keep_browser_session_id: str | None = None,
) -> FactorAdded:
    """Save a just-proved factor (TOTP or passkey) of `user`, whose row the
    caller holds locked in its transaction. When it is the account's first
    factor: a new set of recovery codes, the confirming session raised to
    level 2 by `method`, and every other API session and browser sign-in
    ended (whoever signed in with the password alone before must not keep a
    session the factor now protects). Audited; the notice is queued."""
    first_factor = not user.authenticators.exists()
    authenticator.save(force_insert=True)
    recovery_codes = []
    if first_factor:
        recovery_codes = _new_recovery_codes(user)
        assurance = assurance.then(method)
        record_session_assurance(user=user, assurance=assurance)
        revoke_other_sessions(
            user,
            keep_session_id=assurance.session_id,
            keep_browser_session_id=keep_browser_session_id,
        )
    record(
        user,
        AuthEvent.Type.FACTOR_ADDED,
        client,
        kind=authenticator.kind,
        **({"factor_name": authenticator.name} if authenticator.kind != "totp" else {}),
    )
    emails.send_factor_added(user, factor=authenticator.name)
    return FactorAdded(
        authenticator=authenticator,
        recovery_codes=recovery_codes,
        assurance=assurance,
        first_factor=first_factor,
    )


def remove_factor(
    user: User,
    authenticator: Authenticator,
    *,
    client: Client = NO_CLIENT,
    actor: User | None = None,
) -> None:
    """Remove one factor of `user`, whose row the caller holds locked; with
    the last one go the recovery codes. Refused for the last factor of an
    account MFA_REQUIRED covers. Audited (with the staff `actor`, if any);
    the notice is queued."""
    last = not user.authenticators.exclude(pk=authenticator.pk).exists()
    if last and mfa_required_for(user):
        raise MfaRequired()
    authenticator.delete()
    if last:
        user.recovery_codes.all().delete()
    detail = {"kind": authenticator.kind}
    if authenticator.kind != Authenticator.Kind.TOTP:
        detail["factor_name"] = authenticator.name
    if actor is not None:
        detail["actor"] = str(actor.pk)
    record(user, AuthEvent.Type.FACTOR_REMOVED, client, **detail)
    emails.send_factor_removed(user, factor=authenticator.name or TOTP_NAME)


def disable_totp(
    *, user: User, assurance: Assurance, client: Client = NO_CLIENT
) -> None:
    """Remove the authenticator app; with it the recovery codes when no other
    factor remains. Queues the notice. Refused for the last factor of an
    account MFA_REQUIRED covers."""
    require_recent_auth(user=user, assurance=assurance)
    with transaction.atomic():
        User.objects.select_for_update().only("pk").get(pk=user.pk)
        totp = user.authenticators.filter(kind=Authenticator.Kind.TOTP).first()
        if totp is None:
            raise NoSecondFactor()
        remove_factor(user, totp, client=client)


def regenerate_recovery_codes(
    *, user: User, assurance: Assurance, client: Client = NO_CLIENT
) -> list[str]:
    """A new set of recovery codes, shown once; every earlier code dies.
    Queues the notice."""
    require_recent_auth(user=user, assurance=assurance)
    with transaction.atomic():
        User.objects.select_for_update().only("pk").get(pk=user.pk)
        if not user.authenticators.exists():
            raise NoSecondFactor()
        new_codes = _new_recovery_codes(user)
        record(user, AuthEvent.Type.RECOVERY_CODES_REGENERATED, client)
        emails.send_recovery_codes_regenerated(user)
    return new_codes


def rotate_mfa_secrets(*, batch_size: int = 500) -> int:
    """Re-encrypt every stored TOTP secret, set-ups in progress included, under
    the newest MFA_ENCRYPTION_KEYS key; returns how many. Afterwards the older
    keys can leave the setting. Each row is locked while it is rewritten, so a
    sign-in storing its last step at the same moment is not undone. Raises
    encryption.InvalidToken when a secret opens with none of the keys."""
    rotated = 0
    ids = list(Authenticator.objects.exclude(secret="").values_list("pk", flat=True))
    for start in range(0, len(ids), batch_size):
        with transaction.atomic():
            for row in Authenticator.objects.select_for_update().filter(
                pk__in=ids[start : start + batch_size]
            ):
                Authenticator.objects.filter(pk=row.pk).update(
                    secret=encryption.rotate(row.secret)
                )
                rotated += 1
    with transaction.atomic():
        for step in PendingStep.objects.select_for_update().filter(
            purpose=PendingStep.Purpose.TOTP_SETUP,
            used_at__isnull=True,
            expires_at__gt=timezone.now(),
        ):
            step.payload = {
                **step.payload,
                "secret": encryption.rotate(step.payload["secret"]),
            }
            step.save(update_fields=["payload"])
            rotated += 1
    return rotated


def _new_recovery_codes(user: User) -> list[str]:
    """Replace the account's recovery codes; returns the new ones as shown.
    Only their digests are stored (a database leak yields no usable code)."""
    user.recovery_codes.all().delete()
    new_codes = set()
    while len(new_codes) < codes.RECOVERY_CODE_COUNT:
        new_codes.add(codes.random_code(codes.RECOVERY_CODE_LENGTH))
    RecoveryCode.objects.bulk_create(
        RecoveryCode(
            user=user,
            digest=codes.digest(code, purpose=RECOVERY_PURPOSE, subject=str(user.pk)),
        )
        for code in new_codes
    )
    return [codes.display(code) for code in sorted(new_codes)]


def session_of(assurance: Assurance) -> str:
    # A pending set-up or a WebAuthn ceremony belongs to the session that
    # started it, so a stolen token of another session cannot finish it.
    if not assurance.session_id:
        raise ReauthenticationRequired()
    return assurance.session_id


def require_verified_address(user: User) -> None:
    # A factor on an address nobody proved would let a squatter who signed up
    # with someone else's address lock its real owner out of the recovery.
    if settings.EMAIL_VERIFICATION != "none" and not user.email_verified:
        raise EmailUnverified()


def _pending_setups(user: User, session_id: str):
    return PendingStep.objects.filter(
        purpose=PendingStep.Purpose.TOTP_SETUP, user=user, session_id=session_id
    )


def _live_setups(user: User, session_id: str):
    # Bound to the generation too: a revocation (password change, sign out
    # everywhere) kills a set-up in progress with the sessions.
    return _pending_setups(user, session_id).filter(
        used_at__isnull=True,
        expires_at__gt=timezone.now(),
        generation=user.token_generation,
    )


def _setup_of(user: User, secret: str) -> TotpSetup:
    uri = otp.provisioning_uri(secret, account=user.email, issuer=settings.SITE_NAME)
    return TotpSetup(secret=secret, otpauth_uri=uri, qr_svg=otp.qr_svg(uri))
