"""Checking a passkey assertion (navigator.credentials.get()) against a live
challenge: the one check behind passwordless sign-in, the second factor and
reauthentication.

py_webauthn verifies the client data (type, challenge, origin), the rp id
hash, the user-present and user-verified flags and the signature. Two rules
are ours: the userHandle must name the credential's owner, and the signature
counter must move forward unless it is zero on both sides (synced passkeys
never count). The counter is checked here rather than by the library, and
only after the signature verified, so that only a genuine assertion of a
copied credential raises the alarm (audit, email to the owner).
"""

import hashlib
import hmac
from dataclasses import dataclass

from django.utils import timezone
from webauthn import verify_authentication_response
from webauthn.helpers import (
    bytes_to_base64url,
    parse_authentication_credential_json,
    parse_authenticator_data,
    parse_client_data_json,
)

from accounts import emails, relying_party
from accounts.client import Client
from accounts.errors import InvalidCredential, PasskeyRejected, ServiceError
from accounts.models import Authenticator, AuthEvent, User
from accounts.services.audit import record
from accounts.services.webauthn_challenges import LiveChallenge

# Failure kinds: a ceremony that cannot have happened on our pages (wrong
# origin or rp id, no user presence or verification) versus a credential that
# does not verify (unknown, someone else's, bad signature, counter).
REJECTED = "rejected"
INVALID = "invalid"


def user_handle(user: User) -> bytes:
    """The WebAuthn user.id of an account: its UUID's 16 bytes (stable, and no
    personal data, as the spec asks)."""
    return user.pk.bytes


@dataclass(frozen=True)
class AssertionChecked:
    """The passkey that signed, or why nothing did."""

    passkey: Authenticator | None = None
    failure: str | None = None
    reason: str = ""

    def error(self, *, passwordless: bool = False) -> ServiceError:
        # A passwordless sign-in answers every failure alike (401), so that an
        # unknown credential cannot be told from a bad signature.
        if passwordless or self.failure == REJECTED:
            return PasskeyRejected()
        return InvalidCredential()


def check_assertion(
    live: LiveChallenge, credential, *, owner: User | None, client: Client
) -> AssertionChecked:
    """Verify `credential` (the browser's JSON form) against the challenge
    `live`, for `owner`'s passkeys, or any account's in a passwordless sign-in
    (owner None). Call inside a transaction: the passkey row is locked while
    its counter is compared and advanced. Never raises for bad input."""
    try:
        parsed = parse_authentication_credential_json(credential)
        credential_id = bytes_to_base64url(parsed.raw_id)
    except Exception:  # any malformed input is a failed proof
        return AssertionChecked(failure=INVALID, reason="malformed")
    passkey = (
        Authenticator.objects.select_for_update(of=("self",))
        .select_related("user")
        .filter(kind=Authenticator.Kind.PASSKEY, credential_id=credential_id)
        .first()
    )
    if passkey is None or (owner is not None and passkey.user_id != owner.pk):
        return AssertionChecked(failure=INVALID, reason="unknown_credential")
    returned_handle = parsed.response.user_handle
    # In a passwordless sign-in the authenticator names the account; for a
    # known account it may (and then must name the same one).
    if (returned_handle is not None or owner is None) and not hmac.compare_digest(
        bytes(returned_handle or b""), user_handle(passkey.user)
    ):
        return AssertionChecked(failure=INVALID, reason="user_handle")
    try:
        verified = verify_authentication_response(
            credential=parsed,
            expected_challenge=live.challenge,
            expected_rp_id=relying_party.rp_id(),
            expected_origin=relying_party.allowed_origins(),
            credential_public_key=bytes(passkey.public_key),
            # Ours to compare, after the signature (see the module's text).
            credential_current_sign_count=0,
            require_user_verification=True,
        )
    except Exception:  # the library raises more than its own type
        if _ceremony_refused(parsed):
            return AssertionChecked(failure=REJECTED, reason="ceremony")
        return AssertionChecked(failure=INVALID, reason="signature")
    stored, new = passkey.sign_count, verified.new_sign_count
    if (stored or new) and new <= stored:
        _report_counter(passkey, stored=stored, new=new, client=client)
        return AssertionChecked(failure=INVALID, reason="counter")
    passkey.sign_count = new
    passkey.backup_state = verified.credential_backed_up
    passkey.last_used_at = timezone.now()
    passkey.save(update_fields=["sign_count", "backup_state", "last_used_at"])
    return AssertionChecked(passkey=passkey)


def _ceremony_refused(parsed) -> bool:
    """Whether a failed assertion came from the wrong place or without the
    user: another origin, another rp id, no UP or no UV flag."""
    try:
        client_data = parse_client_data_json(bytes(parsed.response.client_data_json))
        auth_data = parse_authenticator_data(bytes(parsed.response.authenticator_data))
    except Exception:
        return False
    expected_rp_hash = hashlib.sha256(relying_party.rp_id().encode()).digest()
    return (
        client_data.origin not in relying_party.allowed_origins()
        or not hmac.compare_digest(auth_data.rp_id_hash, expected_rp_hash)
        or not auth_data.flags.up
        or not auth_data.flags.uv
    )


def _report_counter(
    passkey: Authenticator, *, stored: int, new: int, client: Client
) -> None:
    # The caller commits before it raises, so the trail and the email stay.
    record(
        passkey.user,
        AuthEvent.Type.PASSKEY_COUNTER_REFUSED,
        client,
        factor_name=passkey.name,
        stored_count=stored,
        presented_count=new,
    )
    emails.send_passkey_counter_refused(
        passkey.user,
        factor=passkey.name,
        ip=client.ip or "",
        device=(client.user_agent or "")[:200],
    )
