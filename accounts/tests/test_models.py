import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_email_unique_ignoring_case_is_enforced_by_the_database():
    UserFactory(email="ada@example.com")

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.bulk_create([User(username="other", email="ADA@Example.com")])


def test_username_unique_ignoring_case_is_enforced_by_the_database():
    UserFactory(username="Ada")

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.bulk_create([User(username="aDA", email="x@example.com")])


def test_username_differing_only_by_compatibility_form_is_refused():
    UserFactory(username="file")

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(
            username="ﬁle", email="other@example.com"
        )  # U+FB01 ligature


def test_fullwidth_username_is_stored_in_its_plain_form():
    user = User.objects.create_user("ｆｕｌｌ", "full@example.com", "x" * 16)

    assert user.username == "full"


def test_email_is_stored_lowercased_and_stripped():
    user = User.objects.create_user("ada", "  Ada@Example.COM ", "x" * 16)

    assert user.email == "ada@example.com"


def test_create_user_hashes_the_password_with_argon2_in_production(settings):
    settings.PASSWORD_HASHERS = ["accounts.hashers.Argon2PasswordHasher"]

    user = User.objects.create_user("ada", "ada@example.com", "a long passphrase")

    assert user.password.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
    assert user.check_password("a long passphrase")


def test_create_user_without_password_leaves_it_unusable():
    user = User.objects.create_user("ada", "ada@example.com")

    assert not user.has_usable_password()


def test_create_superuser_is_staff_superuser_and_verified():
    admin = User.objects.create_superuser("root", "root@example.com", "x" * 16)

    assert (admin.is_staff, admin.is_superuser, admin.email_verified) == (
        True,
        True,
        True,
    )


def test_create_superuser_refuses_is_staff_false():
    with pytest.raises(ValueError, match="is_staff"):
        User.objects.create_superuser(
            "root", "root@example.com", "x" * 16, is_staff=False
        )


def test_natural_key_lookup_ignores_case():
    user = UserFactory(username="Ada")

    assert User.objects.get_by_natural_key("aDA") == user


def test_for_login_prefers_the_email_match_over_a_username_that_looks_like_one():
    owner = UserFactory(username="ada", email="ada@example.com")
    UserFactory(username="ADA@example.com", email="other@example.com")

    assert User.objects.for_login("Ada@Example.com") == owner


def test_for_login_ignores_soft_deleted_accounts():
    UserFactory(username="ada", deleted_at="2026-01-01T00:00:00Z")

    assert User.objects.for_login("ada") is None


def test_createsuperuser_noinput_creates_a_working_admin(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a long admin passphrase")

    call_command(
        "createsuperuser",
        "--noinput",
        username="root",
        email="Root@Example.com",
        verbosity=0,
    )

    admin = User.objects.get(username="root")
    assert admin.is_superuser and admin.email == "root@example.com"
    assert admin.check_password("a long admin passphrase")


def test_live_accounts_stay_unique_while_deleted_ones_free_their_email():
    UserFactory(email="ada@example.com", deleted_at=timezone.now(), is_active=False)
    UserFactory(email="ada@example.com", username="ada2")

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username="ada3", email="ADA@example.com")


def test_lookups_with_a_nul_byte_find_nothing_instead_of_failing():
    UserFactory(email="ada@example.com")

    assert User.objects.for_login("ada@example.com\x00") is None
    assert not User.objects.with_email("ada\x00@example.com").exists()
