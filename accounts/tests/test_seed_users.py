from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from accounts.models import User
from accounts.tests.helpers import SIGNIN

pytestmark = pytest.mark.django_db

SHARED_PASSWORD = "a shared bench passphrase"


@override_settings(BENCH_ENDPOINTS=True)
def test_seeded_users_sign_in_with_the_shared_password(api_client):
    call_command("seed_users", "50", password=SHARED_PASSWORD)

    by_email = api_client.post(
        SIGNIN,
        {"email": "bench0@example.com", "password": SHARED_PASSWORD},
        format="json",
    )
    by_username = api_client.post(
        SIGNIN, {"username": "BENCH49", "password": SHARED_PASSWORD}, format="json"
    )
    assert by_email.status_code == 200, by_email.content
    assert by_email.json()["user"]["username"] == "bench0"
    assert by_username.status_code == 200, by_username.content
    assert User.objects.filter(username__startswith="bench").count() == 50


@override_settings(BENCH_ENDPOINTS=True)
def test_seeded_users_refuse_another_password(api_client):
    call_command("seed_users", "50", password=SHARED_PASSWORD)

    response = api_client.post(
        SIGNIN,
        {"email": "bench7@example.com", "password": "not the shared one at all"},
        format="json",
    )

    assert response.status_code == 401


@override_settings(BENCH_ENDPOINTS=True)
def test_seed_users_stores_canonical_names_that_save_would_keep():
    call_command("seed_users", "3", prefix="Load.Test")

    user = User.objects.get(username="Load.Test2")
    user.save()

    user.refresh_from_db()
    assert (user.username, user.email) == ("Load.Test2", "load.test2@example.com")
    assert user.email_verified and user.is_active and not user.is_staff


@override_settings(BENCH_ENDPOINTS=True)
def test_seed_users_writes_the_keys_save_would_write():
    call_command("seed_users", "12", prefix="Load.Test", stdout=StringIO())
    seeded = {
        user.pk: (user.username_key, user.username_skeleton, user.email_key)
        for user in User.objects.all()
    }

    for user in User.objects.all():
        user.username_key = user.username_skeleton = user.email_key = None
        user._state.adding = True  # recompute every key, as for a new account
        user._set_keys()
        keys = (user.username_key, user.username_skeleton, user.email_key)
        assert keys == seeded[user.pk]
    assert seeded[User.objects.get(username="Load.Test10").pk] == (
        "load.test10",
        "load.testlo",
        "load.test10@example.com",
    )


@override_settings(BENCH_ENDPOINTS=True)
def test_seed_users_again_adds_only_the_missing_accounts():
    call_command("seed_users", "20", stdout=StringIO())
    output = StringIO()

    call_command("seed_users", "30", stdout=output)

    assert "10 inserted, 20 already there" in output.getvalue()
    assert User.objects.filter(username__startswith="bench").count() == 30


@override_settings(DEBUG=False, BENCH_ENDPOINTS=False)
def test_seed_users_refuses_a_live_configuration():
    with pytest.raises(CommandError, match="known password"):
        call_command("seed_users", "5")

    assert not User.objects.exists()


@override_settings(BENCH_ENDPOINTS=True)
def test_seed_users_refuses_a_prefix_that_normalisation_would_change():
    with pytest.raises(CommandError, match="prefix"):
        call_command("seed_users", "5", prefix="ｂench")

    assert not User.objects.exists()
