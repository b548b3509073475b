"""services.verify_second_factor: a TOTP step and a recovery code each work once."""

import pyotp
import pytest

from accounts import codes, encryption, otp, services
from accounts.models import Authenticator, RecoveryCode
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def secret(user):
    value = otp.new_secret()
    Authenticator.objects.create(
        user=user, kind=Authenticator.Kind.TOTP, secret=encryption.encrypt(value)
    )
    return value


def test_a_totp_code_proves_otp_once(user, secret):
    code = pyotp.TOTP(secret).now()

    first = services.verify_second_factor(user=user, code=code)
    replay = services.verify_second_factor(user=user, code=code)

    assert first == "otp"
    assert replay is None


def test_a_wrong_totp_code_proves_nothing(user, secret):
    wrong = f"{(int(pyotp.TOTP(secret).now()) + 1) % 1_000_000:06d}"

    assert services.verify_second_factor(user=user, code=wrong) is None


def test_a_recovery_code_works_once_whatever_its_spelling(user, secret):
    code = codes.random_code(codes.RECOVERY_CODE_LENGTH)
    RecoveryCode.objects.create(
        user=user, digest=codes.digest(code, purpose="recovery", subject=str(user.pk))
    )

    first = services.verify_second_factor(user=user, code=codes.display(code).lower())
    again = services.verify_second_factor(user=user, code=code)

    assert first == "rc"
    assert again is None


def test_another_accounts_recovery_code_proves_nothing(user, secret):
    other = UserFactory()
    code = codes.random_code(codes.RECOVERY_CODE_LENGTH)
    RecoveryCode.objects.create(
        user=other, digest=codes.digest(code, purpose="recovery", subject=str(other.pk))
    )

    assert services.verify_second_factor(user=user, code=code) is None


def test_methods_name_what_the_account_can_answer_with(user, secret):
    RecoveryCode.objects.create(user=user, digest="x" * 64)

    assert services.mfa_methods(user) == ["totp", "recovery_code"]
