"""A software passkey authenticator, for API tests and as a worked example for
SPA authors: what a browser and an authenticator do between our options and
the credential JSON the API takes back.

In a browser the page does only this:

    const {options, challenge_token} = await post("/api/v1/auth/webauthn/options",
                                                  {purpose: "register"});
    const credential = await navigator.credentials.create({
        publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options)});
    await post("/api/v1/auth/passkeys",
               {challenge_token, credential: credential.toJSON()});

and `navigator.credentials.get()` / `parseRequestOptionsFromJSON()` for the
other purposes. Everything below is what `create()` and `get()` do inside:
the authenticator holds an EC P-256 key per credential, reports its data in
the WebAuthn byte layouts (authenticatorData), and signs
authenticatorData || SHA-256(clientDataJSON). CBOR comes from `cbor2`, keys
and signatures from `cryptography`; nothing here is verified by hand.
"""

import base64
import hashlib
import json
import secrets
import struct
from dataclasses import dataclass, field

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

# authenticatorData flag bits (WebAuthn §6.1).
UP = 0x01  # user present
UV = 0x04  # user verified
BE = 0x08  # backup eligible (a synced passkey)
BS = 0x10  # backed up
AT = 0x40  # attested credential data follows

# COSE_Key labels and values for an ES256 public key (RFC 9052/9053).
COSE_KTY, COSE_ALG, COSE_CRV, COSE_X, COSE_Y = 1, 3, -1, -2, -3
COSE_KTY_EC2, COSE_ALG_ES256, COSE_CRV_P256 = 2, -7, 1

# An AAGUID no real authenticator has (the all-zero one means "none given").
TEST_AAGUID = bytes.fromhex("0123456789abcdef0123456789abcdef")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class StoredCredential:
    """What an authenticator keeps per passkey: the private key never leaves."""

    credential_id: bytes
    private_key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    sign_count: int = 0


@dataclass
class SoftwareAuthenticator:
    """A discoverable-credential (passkey) authenticator plus the browser's
    part (clientDataJSON). `origin` is the page the browser is on.
    `counts`: whether the signature counter moves (hardware keys) or stays
    0 (synced passkeys). `synced` sets the backup flags."""

    origin: str
    aaguid: bytes = TEST_AAGUID
    counts: bool = True
    synced: bool = False
    credentials: list[StoredCredential] = field(default_factory=list)

    # navigator.credentials.create()
    def create(
        self,
        options: dict,
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        user_present: bool = True,
        user_verified: bool = True,
        credential: StoredCredential | None = None,
    ) -> dict:
        """The RegistrationResponseJSON for creation `options` (the API's
        `options`, exactly as received). `credential` re-attests one this
        authenticator already holds, as no honest authenticator would (the
        server must refuse a credential id it knows)."""
        rp_id = rp_id or options["rp"]["id"]
        excluded = {unb64url(c["id"]) for c in options.get("excludeCredentials", [])}
        if any(c.credential_id in excluded for c in self.credentials):
            raise ValueError("InvalidStateError: this authenticator is excluded")
        if credential is None:
            credential = StoredCredential(
                credential_id=secrets.token_bytes(32),
                private_key=ec.generate_private_key(ec.SECP256R1()),
                rp_id=options["rp"]["id"],
                user_handle=unb64url(options["user"]["id"]),
            )
            self.credentials.append(credential)
        client_data = self._client_data("webauthn.create", options, origin)
        attested = (
            self.aaguid
            + struct.pack(">H", len(credential.credential_id))
            + credential.credential_id
            + cbor2.dumps(_cose_public_key(credential.private_key))
        )
        auth_data = self._authenticator_data(
            rp_id,
            flags=_flags(user_present, user_verified, self.synced) | AT,
            sign_count=credential.sign_count,
        )
        attestation_object = cbor2.dumps(
            {"fmt": "none", "attStmt": {}, "authData": auth_data + attested}
        )
        return {
            "id": b64url(credential.credential_id),
            "rawId": b64url(credential.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "attestationObject": b64url(attestation_object),
                "transports": ["internal", "hybrid"],
            },
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
        }

    # navigator.credentials.get()
    def get(
        self,
        options: dict,
        *,
        credential: StoredCredential | None = None,
        origin: str | None = None,
        rp_id: str | None = None,
        user_present: bool = True,
        user_verified: bool = True,
        sign_count: int | None = None,
        user_handle: bytes | None = None,
    ) -> dict:
        """The AuthenticationResponseJSON for request `options`. Without
        allowCredentials (passwordless sign-in) the authenticator picks one of
        its passkeys for the rp id; `credential` chooses which. The keyword
        arguments after it make the deliberately broken answers of tests."""
        credential = credential or self._choose(options)
        if sign_count is None:
            if self.counts:
                credential.sign_count += 1
            sign_count = credential.sign_count
        client_data = self._client_data("webauthn.get", options, origin)
        auth_data = self._authenticator_data(
            rp_id or options["rpId"],
            flags=_flags(user_present, user_verified, self.synced),
            sign_count=sign_count,
        )
        signature = credential.private_key.sign(
            auth_data + hashlib.sha256(client_data).digest(),
            ec.ECDSA(hashes.SHA256()),
        )
        handle = credential.user_handle if user_handle is None else user_handle
        return {
            "id": b64url(credential.credential_id),
            "rawId": b64url(credential.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(signature),
                "userHandle": b64url(handle),
            },
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
        }

    def _choose(self, options: dict) -> StoredCredential:
        allowed = {unb64url(c["id"]) for c in options.get("allowCredentials", [])}
        for credential in self.credentials:
            if credential.rp_id != options["rpId"]:
                continue
            if not allowed or credential.credential_id in allowed:
                return credential
        raise LookupError("NotAllowedError: no passkey for these options")

    def _client_data(self, kind: str, options: dict, origin: str | None) -> bytes:
        # The browser writes this; the challenge is echoed as received.
        return json.dumps(
            {
                "type": kind,
                "challenge": options["challenge"],
                "origin": origin or self.origin,
                "crossOrigin": False,
            }
        ).encode()

    @staticmethod
    def _authenticator_data(rp_id: str, *, flags: int, sign_count: int) -> bytes:
        return (
            hashlib.sha256(rp_id.encode()).digest()
            + bytes([flags])
            + struct.pack(">I", sign_count)
        )


def _flags(user_present: bool, user_verified: bool, synced: bool) -> int:
    flags = (UP if user_present else 0) | (UV if user_verified else 0)
    return flags | (BE | BS if synced else 0)


def _cose_public_key(private_key: ec.EllipticCurvePrivateKey) -> dict:
    numbers = private_key.public_key().public_numbers()
    return {
        COSE_KTY: COSE_KTY_EC2,
        COSE_ALG: COSE_ALG_ES256,
        COSE_CRV: COSE_CRV_P256,
        COSE_X: numbers.x.to_bytes(32, "big"),
        COSE_Y: numbers.y.to_bytes(32, "big"),
    }
