"""MFA_ENCRYPTION_KEYS rotation: `manage.py rotate_mfa_keys` re-encrypts every
TOTP secret (set-ups in progress too) under the newest key, so the old key can
be dropped."""

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from accounts import encryption, otp, services
from accounts.assurance import Assurance
from accounts.models import Authenticator, PendingStep

pytestmark = pytest.mark.django_db

OLD = Fernet.generate_key().decode()
NEW = Fernet.generate_key().decode()


def test_rotation_re_encrypts_secrets_and_set_ups_under_the_newest_key(settings, user):
    settings.MFA_ENCRYPTION_KEYS = [OLD]
    secret = otp.new_secret()
    Authenticator.objects.create(
        user=user, kind=Authenticator.Kind.TOTP, secret=encryption.encrypt(secret)
    )
    other = type(user).objects.create_user(
        username="bob", email="bob@example.com", password="x" * 20
    )
    other.email_verified = True
    other.save()
    setup = services.start_totp_setup(
        user=other, assurance=Assurance.proved("pwd", session_id="web:abc")
    )
    settings.MFA_ENCRYPTION_KEYS = [NEW, OLD]
    out = io.StringIO()

    call_command("rotate_mfa_keys", stdout=out)

    settings.MFA_ENCRYPTION_KEYS = [NEW]
    stored = Authenticator.objects.get(user=user).secret
    assert encryption.decrypt(stored) == secret
    pending = PendingStep.objects.get(user=other)
    assert encryption.decrypt(pending.payload["secret"]) == setup.secret
    assert "2" in out.getvalue()


def test_without_rotation_dropping_the_old_key_loses_the_secrets(settings, user):
    settings.MFA_ENCRYPTION_KEYS = [OLD]
    Authenticator.objects.create(
        user=user,
        kind=Authenticator.Kind.TOTP,
        secret=encryption.encrypt(otp.new_secret()),
    )
    settings.MFA_ENCRYPTION_KEYS = [NEW]

    with pytest.raises(encryption.InvalidToken):
        encryption.decrypt(Authenticator.objects.get(user=user).secret)


def test_rotation_without_the_key_that_encrypted_a_secret_stops_naming_the_setting(
    settings, user
):
    settings.MFA_ENCRYPTION_KEYS = [OLD]
    Authenticator.objects.create(
        user=user,
        kind=Authenticator.Kind.TOTP,
        secret=encryption.encrypt(otp.new_secret()),
    )
    settings.MFA_ENCRYPTION_KEYS = [NEW]

    with pytest.raises(CommandError, match="MFA_ENCRYPTION_KEYS"):
        call_command("rotate_mfa_keys", stdout=io.StringIO())
