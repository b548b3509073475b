"""The building blocks of second factors: TOTP steps, typed codes, secrets at rest."""

import pyotp
import pytest
from cryptography.fernet import Fernet

from accounts import codes, encryption, otp

NOW = 1_800_000_000.0  # a fixed instant, in the middle of a 30 s step
STEP = int(NOW // 30)


def code_at(secret: str, step: int) -> str:
    return pyotp.TOTP(secret).generate_otp(step)


def test_totp_accepts_the_current_and_neighbouring_steps():
    secret = otp.new_secret()

    for offset in (-1, 0, 1):
        found = otp.matching_step(
            secret, code_at(secret, STEP + offset), last_step=None, now=NOW
        )

        assert found == STEP + offset


def test_totp_refuses_codes_two_steps_away():
    secret = otp.new_secret()

    assert (
        otp.matching_step(secret, code_at(secret, STEP - 2), last_step=None, now=NOW)
        is None
    )
    assert (
        otp.matching_step(secret, code_at(secret, STEP + 2), last_step=None, now=NOW)
        is None
    )


def test_totp_code_is_accepted_once():
    secret = otp.new_secret()
    code = code_at(secret, STEP)

    used = otp.matching_step(secret, code, last_step=None, now=NOW)
    again = otp.matching_step(secret, code, last_step=used, now=NOW)

    assert used == STEP
    assert again is None


@pytest.mark.parametrize("typed", ["", "12345", "1234567", "abcdef", None, 123456])
def test_totp_refuses_malformed_input(typed):
    assert otp.matching_step(otp.new_secret(), typed, last_step=None, now=NOW) is None


def test_provisioning_uri_and_qr_code_carry_the_secret_for_authenticator_apps():
    secret = otp.new_secret()

    uri = otp.provisioning_uri(secret, account="ada@example.com", issuer="Identity")
    svg = otp.qr_svg(uri)

    assert uri.startswith("otpauth://totp/Identity:ada%40example.com?")
    assert f"secret={secret}" in uri
    assert svg.startswith("<svg") and "<script" not in svg


def test_codes_use_an_alphabet_without_look_alikes():
    code = codes.random_code(codes.RECOVERY_CODE_LENGTH)

    assert len(code) == 10
    assert not set(code) & set("01OIL")
    assert codes.display(code) == f"{code[:5]}-{code[5:]}"


def test_typed_codes_match_ignoring_case_spaces_and_dashes():
    stored = codes.digest("ABCDE23456", purpose="recovery", subject="u1")

    assert codes.matches(" abcde-23456 ", stored, purpose="recovery", subject="u1")
    assert not codes.matches("ABCDE23457", stored, purpose="recovery", subject="u1")


def test_a_code_digest_is_bound_to_its_purpose_and_owner():
    stored = codes.digest("ABCDE23456", purpose="recovery", subject="u1")

    assert not codes.matches("ABCDE23456", stored, purpose="recovery", subject="u2")
    assert not codes.matches("ABCDE23456", stored, purpose="signin", subject="u1")


def test_secrets_are_encrypted_at_rest_and_read_back(settings):
    settings.MFA_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]

    stored = encryption.encrypt("JBSWY3DPEHPK3PXP")

    assert "JBSWY3DPEHPK3PXP" not in stored
    assert encryption.decrypt(stored) == "JBSWY3DPEHPK3PXP"


def test_rotation_reencrypts_under_the_newest_key_and_old_keys_still_decrypt(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.MFA_ENCRYPTION_KEYS = [old]
    stored = encryption.encrypt("JBSWY3DPEHPK3PXP")

    settings.MFA_ENCRYPTION_KEYS = [new, old]
    rotated = encryption.rotate(stored)
    settings.MFA_ENCRYPTION_KEYS = [new]

    assert encryption.decrypt(rotated) == "JBSWY3DPEHPK3PXP"
    with pytest.raises(encryption.InvalidToken):
        encryption.decrypt(stored)


def test_without_configured_keys_a_key_is_derived_from_the_secret_key(settings):
    settings.MFA_ENCRYPTION_KEYS = []

    stored = encryption.encrypt("JBSWY3DPEHPK3PXP")
    settings.SECRET_KEY = "another-secret-key-0123456789-0123456789-0123456789"

    with pytest.raises(encryption.InvalidToken):
        encryption.decrypt(stored)
