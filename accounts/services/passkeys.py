"""Passkeys (WebAuthn): options for every ceremony, registration, passwordless
sign-in, renaming and removal. The second factor and reauthentication with a
passkey live with their siblings (services.mfa_signin, .reauthentication),
which check the assertion through services.passkey_assertions.

Every ceremony starts with webauthn_options(), whose challenge_token the
client sends back with the credential. The same functions serve the API and
the pages: a browser passes its "web:<session key>" wherever the API passes
its session id (the Assurance carries it).
"""

import uuid
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    verify_registration_response,
)
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    options_to_json_dict,
    parse_registration_credential_json,
)
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    CredentialDeviceType,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from accounts import emails, relying_party, throttles
from accounts.assurance import NONE, PASSKEY, Assurance
from accounts.client import NO_CLIENT, Client
from accounts.errors import (
    EmailNotVerified,
    EnrolCodeMissing,
    InactiveAccount,
    InvalidCredential,
    LastFactorNeedsReset,
    NoPasskey,
    PasskeyNotFound,
    PasskeyRejected,
)
from accounts.models import Authenticator, AuthEvent, TokenSession, User
from accounts.services.audit import record
from accounts.services.authenticators import (
    add_factor,
    remove_factor,
    require_verified_address,
    session_of,
)
from accounts.services.authority import require_may_manage
from accounts.services.confinement import is_confined
from accounts.services.enrolment import check_enrol_code
from accounts.services.factor_reset import cancel_factor_reset
from accounts.services.mfa_signin import live_mfa_step, refuse_while_limited
from accounts.services.passkey_assertions import check_assertion, user_handle
from accounts.services.reauthentication import require_recent_auth
from accounts.services.sessions import start_api_session
from accounts.services.signin import SignedIn, may_sign_in_unverified
from accounts.services.webauthn_challenges import (
    CHALLENGE_LIFETIME,
    MFA,
    REAUTH,
    REGISTER,
    SIGNIN,
    issue_challenge,
    live_challenge,
    mfa_binding,
    take_challenge,
    use_challenge,
)

PURPOSES = ("register", "signin", "mfa", "reauth")
DEFAULT_NAME = "Passkey"
NAME_MAX_LENGTH = 100
# What a browser gives the user to finish a ceremony (a hint; the challenge
# itself lives CHALLENGE_LIFETIME).
CEREMONY_TIMEOUT_MS = 180_000
# Well-known authenticators, by AAGUID, for a passkey's default name (from the
# community list at github.com/passkeydeveloper/passkey-authenticator-aaguids).
KNOWN_AAGUIDS = {
    "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4": "Google Password Manager",
    "adce0002-35bc-c60a-648b-0b25f1f05503": "Chrome on Mac",
    "08987058-cadc-4b81-b6e1-30de50dcbe96": "Windows Hello",
    "9ddd1817-af5a-4672-a2b9-3e3dd95000a9": "Windows Hello",
    "6028b017-b1d4-4c02-b4b3-afcdafc96bb2": "Windows Hello",
    "fbfc3007-154e-4ecc-8c0b-6e020557d7bd": "iCloud Keychain",
    "dd4ec289-e01d-41c9-bb89-70fa845d4bf2": "iCloud Keychain (Managed)",
    "bada5566-a7aa-401f-bd96-45619a55120d": "1Password",
    "d548826e-79b4-db40-a3d8-11116f7e8349": "Bitwarden",
    "531126d6-e717-415c-9320-3d9aa6981239": "Dashlane",
    "0ea242b4-43c4-4a1b-8b17-dd6d0b6baec6": "Keeper",
    "b84e4048-15dc-4dd0-8640-f4f60813c8af": "NordPass",
    "53414d53-554e-4700-0000-000000000000": "Samsung Pass",
    "cb69481e-8ff7-4039-93ec-0a2729a154a8": "YubiKey 5",
    "ee882879-721c-4913-9775-3dfcce97072a": "YubiKey 5",
    "fa2b99dc-9e39-4257-8f92-4a30d23c4118": "YubiKey 5",
}


@dataclass(frozen=True)
class WebAuthnOptions:
    # PublicKeyCredentialCreationOptionsJSON or ...RequestOptionsJSON, as the
    # browser's parse*OptionsFromJSON() takes them.
    options: dict
    challenge_token: str
    expires_in: int = int(CHALLENGE_LIFETIME.total_seconds())


@dataclass(frozen=True)
class PasskeyRegistered:
    passkey: Authenticator
    # Shown once, XXXXX-XXXXX; empty unless this was the account's first factor.
    recovery_codes: list[str]
    # What the registering session has proved now (level 2 when this was the
    # first factor); a browser door stores it in its session.
    assurance: Assurance
    first_factor: bool


def webauthn_options(
    *,
    purpose: str,
    user: User | None = None,
    assurance: Assurance = NONE,
    mfa_token: str | None = None,
    session_id: str = "",
    client: Client = NO_CLIENT,
) -> WebAuthnOptions:
    """Options and a challenge_token for one ceremony:

    - "register": `user` with a recent sign-in in the session of `assurance`
      (options exclude the account's passkeys);
    - "reauth": `user` and the session of `assurance`;
    - "mfa": the `mfa_token` of a pending sign-in (its account's passkeys;
      replaces that mfa_token's earlier challenge; does not use it up);
    - "signin": nobody; `session_id` is the browser's session name, if any
      (a challenge asked for in one browser cannot finish in another).
    """
    if purpose == "register":
        return _registration_options(user, assurance)
    if purpose == "reauth":
        session = session_of(assurance)
        return _request_options(
            REAUTH, user=user, session_id=session, allow=_passkeys_of(user)
        )
    throttles.hit("webauthn", client.ip)
    if purpose == "mfa":
        step = live_mfa_step(mfa_token)
        refuse_while_limited(step.user)
        passkeys = _passkeys_of(step.user)
        if not passkeys:
            raise NoPasskey()
        return _request_options(
            MFA,
            user=step.user,
            session_id=mfa_binding(step),
            allow=passkeys,
            replace_earlier=True,
        )
    if purpose == "signin":
        # No allowCredentials: the browser offers the passkeys it holds for
        # our rp id (discoverable credentials), the account comes from the
        # chosen passkey's userHandle.
        return _request_options(SIGNIN, user=None, session_id=session_id, allow=[])
    raise ValueError(f"unknown WebAuthn purpose {purpose!r}")


def register_passkey(
    *,
    user: User,
    assurance: Assurance,
    challenge_token: str,
    credential,
    name: str | None = None,
    email_code: str | None = None,
    client: Client = NO_CLIENT,
    keep_browser_session_id: str | None = None,
) -> PasskeyRegistered:
    """Add the passkey a browser just created from register options.

    Checked again: the recent sign-in, the verified address (409), the
    attestation against the session's live challenge (400 credential), a
    credential id no account has yet (400 credential) and, for a confined
    session, the emailed code. The challenge is used up only by a success,
    so a mistyped emailed code does not cost a new passkey on the device.
    The first factor brings recovery codes, raises the session to level 2
    and ends every other session (`keep_browser_session_id`: the browser
    door's own BrowserSession, which stays listed). Audited; notice queued."""
    require_recent_auth(user=user, assurance=assurance)
    session = session_of(assurance)
    require_verified_address(user)
    if is_confined(user=user, assurance=assurance) and not (
        isinstance(email_code, str) and email_code.strip()
    ):
        raise EnrolCodeMissing()
    live = live_challenge(REGISTER, challenge_token, user=user, session_id=session)
    if live is None:
        raise InvalidCredential()
    verified = _verify_registration(live.challenge, credential)
    credential_id = bytes_to_base64url(verified.credential_id)
    if Authenticator.objects.filter(credential_id=credential_id).exists():
        raise InvalidCredential(
            "This passkey is already registered.", code="credential_registered"
        )
    # After the passkey's own proof, before anything is saved (as for TOTP).
    check_enrol_code(user=user, assurance=assurance, email_code=email_code)
    try:
        with transaction.atomic():
            User.objects.select_for_update().only("pk").get(pk=user.pk)
            live = live_challenge(
                REGISTER, challenge_token, user=user, session_id=session, lock=True
            )
            if live is None:
                raise InvalidCredential()
            use_challenge(live)
            require_verified_address(user)
            added = add_factor(
                user,
                Authenticator(
                    user=user,
                    kind=Authenticator.Kind.PASSKEY,
                    name=_clean_name(name) or _default_name(verified.aaguid),
                    credential_id=credential_id,
                    public_key=verified.credential_public_key,
                    sign_count=verified.sign_count,
                    transports=_transports(credential),
                    aaguid=verified.aaguid,
                    backup_eligible=verified.credential_device_type
                    == CredentialDeviceType.MULTI_DEVICE,
                    backup_state=verified.credential_backed_up,
                ),
                method=PASSKEY,
                assurance=assurance,
                client=client,
                keep_browser_session_id=keep_browser_session_id,
            )
    except IntegrityError:
        # Another account (or a racing request) registered it meanwhile.
        raise InvalidCredential(
            "This passkey is already registered.", code="credential_registered"
        ) from None
    return PasskeyRegistered(
        passkey=added.authenticator,
        recovery_codes=added.recovery_codes,
        assurance=added.assurance,
        first_factor=added.first_factor,
    )


def sign_in_with_passkey(
    *,
    challenge_token: str,
    credential,
    session_id: str = "",
    client: Client = NO_CLIENT,
    issue_tokens: bool = False,
    transport: str = TokenSession.Transport.BODY,
) -> SignedIn:
    """Passwordless sign-in: a passkey is two factors in one (something held,
    unlocked by something known or being), so nothing more is asked.

    Every failure is the same PasskeyRejected (401): an unknown or removed
    credential, a bad signature, a used, expired or foreign challenge, a
    userHandle that is not the owner's, a counter that did not move forward
    (audited, owner emailed). Then the password sign-in's refusals: inactive,
    unverified under EMAIL_VERIFICATION=mandatory (403). Passkey failures do
    not slow down password or code sign-in, nor the other way round."""
    throttles.hit("signin", client.ip)
    with transaction.atomic():
        live = take_challenge(SIGNIN, challenge_token, user=None, session_id=session_id)
        if live is None:
            raise PasskeyRejected()
        checked = check_assertion(live, credential, owner=None, client=client)
    if checked.passkey is None:
        record(
            None,
            AuthEvent.Type.SIGNIN_FAILED,
            client,
            method="passkey",
            reason=checked.reason,
        )
        raise checked.error(passwordless=True)
    user = checked.passkey.user
    if user.is_deleted:
        raise PasskeyRejected()
    if not user.is_active:
        raise InactiveAccount()
    if not may_sign_in_unverified(user):
        raise EmailNotVerified()
    proved = Assurance.proved(PASSKEY)
    with transaction.atomic():
        now = timezone.now()
        User.objects.filter(pk=user.pk).update(last_login=now)
        user.last_login = now
        record(user, AuthEvent.Type.SIGNIN_SUCCEEDED, client, amr=list(proved.amr))
        tokens = None
        if issue_tokens:
            tokens = start_api_session(
                user=user, assurance=proved, client=client, transport=transport
            )
    # The owner holds a factor: a staff-started reset of them is moot.
    cancel_factor_reset(user=user, reason="signed_in_with_factor", client=client)
    return SignedIn(user=user, tokens=tokens, assurance=proved)


def list_passkeys(*, user: User):
    return user.authenticators.filter(kind=Authenticator.Kind.PASSKEY).order_by(
        "created_at", "pk"
    )


def rename_passkey(
    *, user: User, passkey_id, name: str, client: Client = NO_CLIENT
) -> Authenticator:
    """Rename one of the user's passkeys (no recent sign-in needed: a name
    guards nothing). Audited; the notice is queued."""
    new_name = _clean_name(name)
    if not new_name:
        raise InvalidCredential("Give the passkey a name.", code="blank")
    with transaction.atomic():
        passkey = _passkey_of(user, passkey_id, lock=True)
        old_name = passkey.name
        if old_name == new_name:
            return passkey
        passkey.name = new_name
        passkey.save(update_fields=["name"])
        record(
            user,
            AuthEvent.Type.PASSKEY_RENAMED,
            client,
            old_name=old_name,
            new_name=new_name,
        )
        emails.send_passkey_renamed(user, old_name=old_name, new_name=new_name)
    return passkey


def remove_passkey(
    *, user: User, passkey_id, assurance: Assurance, client: Client = NO_CLIENT
) -> None:
    """Remove one of the user's passkeys (recent sign-in). Refused (409) for
    the last factor of an account MFA_REQUIRED covers; with the last factor
    go the recovery codes. Audited; the notice is queued."""
    require_recent_auth(user=user, assurance=assurance)
    with transaction.atomic():
        User.objects.select_for_update().only("pk").get(pk=user.pk)
        remove_factor(user, _passkey_of(user, passkey_id), client=client)


def remove_passkey_as_staff(
    *,
    actor: User,
    user: User,
    passkey_id,
    assurance: Assurance,
    client: Client = NO_CLIENT,
) -> None:
    """Staff removing one passkey of a user (the admin), e.g. a lost laptop's
    while the owner keeps another factor: the actor's recent sign-in and the
    authority rule (staff who are not superusers act only outside staff
    scope). Never the account's last factor: that goes through a two-factor
    reset, which the owner accepts by email. Audited with the actor; the owner
    is emailed."""
    require_recent_auth(user=actor, assurance=assurance)
    require_may_manage(actor, user)
    with transaction.atomic():
        User.objects.select_for_update().only("pk").get(pk=user.pk)
        passkey = _passkey_of(user, passkey_id)
        if not user.authenticators.exclude(pk=passkey.pk).exists():
            raise LastFactorNeedsReset()
        remove_factor(user, passkey, client=client, actor=actor)


def _registration_options(user: User, assurance: Assurance) -> WebAuthnOptions:
    require_recent_auth(user=user, assurance=assurance)
    session = session_of(assurance)
    require_verified_address(user)
    options = generate_registration_options(
        rp_id=relying_party.rp_id(),
        rp_name=relying_party.rp_name(),
        user_id=user_handle(user),
        user_name=user.email or user.username,
        user_display_name=user.get_full_name() or user.username,
        timeout=CEREMONY_TIMEOUT_MS,
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            require_resident_key=True,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=_descriptors(_passkeys_of(user)),
    )
    token = issue_challenge(
        REGISTER, challenge=options.challenge, user=user, session_id=session
    )
    return WebAuthnOptions(options=options_to_json_dict(options), challenge_token=token)


def _request_options(
    purpose: str,
    *,
    user: User | None,
    session_id: str,
    allow: list[Authenticator],
    replace_earlier: bool = False,
) -> WebAuthnOptions:
    options = generate_authentication_options(
        rp_id=relying_party.rp_id(),
        timeout=CEREMONY_TIMEOUT_MS,
        allow_credentials=_descriptors(allow),
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    with transaction.atomic():
        token = issue_challenge(
            purpose,
            challenge=options.challenge,
            user=user,
            session_id=session_id,
            replace_earlier=replace_earlier,
        )
    return WebAuthnOptions(options=options_to_json_dict(options), challenge_token=token)


def _verify_registration(challenge: bytes, credential):
    try:
        verified = verify_registration_response(
            credential=parse_registration_credential_json(credential),
            expected_challenge=challenge,
            expected_rp_id=relying_party.rp_id(),
            expected_origin=relying_party.allowed_origins(),
            require_user_presence=True,
            require_user_verification=True,
        )
    except Exception:  # any malformed or unverifiable input
        raise InvalidCredential() from None
    return verified


def _descriptors(passkeys) -> list[PublicKeyCredentialDescriptor]:
    descriptors = []
    for passkey in passkeys:
        transports = []
        for value in passkey.transports or ():
            try:
                transports.append(AuthenticatorTransport(value))
            except ValueError:
                continue
        descriptors.append(
            PublicKeyCredentialDescriptor(
                id=base64url_to_bytes(passkey.credential_id),
                transports=transports or None,
            )
        )
    return descriptors


def _transports(credential) -> list[str]:
    """The transports the browser reported (hints for later allowCredentials),
    the known values only."""
    response = credential.get("response") if isinstance(credential, dict) else None
    reported = response.get("transports") if isinstance(response, dict) else None
    if not isinstance(reported, list):
        return []
    known = {transport.value for transport in AuthenticatorTransport}
    return [value for value in reported if isinstance(value, str) and value in known]


def _passkeys_of(user: User) -> list[Authenticator]:
    return list(list_passkeys(user=user))


def _passkey_of(user: User, passkey_id, *, lock: bool = False) -> Authenticator:
    try:
        passkey_id = uuid.UUID(str(passkey_id))
    except ValueError:
        raise PasskeyNotFound() from None
    passkeys = list_passkeys(user=user)
    if lock:
        passkeys = passkeys.select_for_update()
    passkey = passkeys.filter(pk=passkey_id).first()
    if passkey is None:
        raise PasskeyNotFound()
    return passkey


def _default_name(aaguid: str) -> str:
    return KNOWN_AAGUIDS.get((aaguid or "").lower(), DEFAULT_NAME)


def _clean_name(name) -> str:
    if not isinstance(name, str):
        return ""
    return " ".join(name.split())[:NAME_MAX_LENGTH]
