import threading

import pytest
import time_machine
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.helpers import FORGOT, attempt_sign_in


@pytest.fixture(autouse=True)
def _mid_window():
    """Fixed-window counters reset on the minute: hold the clock mid-window so a
    test never straddles a boundary (time_machine moves it where a test says)."""
    with time_machine.travel("2026-06-01 12:00:20Z", tick=False):
        yield


@pytest.mark.django_db
def test_failed_signin_flood_from_one_ip_is_throttled_within_the_limit():
    codes = [
        attempt_sign_in(f"nobody{i}@example.com", "wrong password").status_code
        for i in range(12)
    ]

    assert codes[:10] == [401] * 10
    assert codes[10:] == [429, 429]


@pytest.mark.django_db
def test_throttled_response_carries_retry_after():
    for i in range(10):
        attempt_sign_in(f"nobody{i}@example.com", "wrong password")

    response = attempt_sign_in("another@example.com", "wrong password")

    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert "detail" in response.json()


@pytest.mark.django_db
def test_signin_flood_on_one_identifier_from_many_ips_is_throttled():
    codes = [
        attempt_sign_in(
            "ada@example.com", "wrong password", ip=f"203.0.113.{i}"
        ).status_code
        for i in range(11)
    ]

    assert codes[-1] == 429
    assert codes.count(429) == 1


@pytest.mark.django_db
def test_lockout_refuses_even_the_right_password_from_that_ip(settings):
    settings.THROTTLE_RATES = "signin=1000/min"
    settings.LOCKOUT_THRESHOLD = 3
    user = UserFactory()
    for _ in range(3):
        attempt_sign_in(user.email, "wrong password")

    locked = attempt_sign_in(user.email, PASSWORD)
    elsewhere = attempt_sign_in(user.email, PASSWORD, ip="192.0.2.1")

    assert locked.status_code == 429
    assert elsewhere.status_code == 200


@pytest.mark.django_db
def test_lockout_ends_after_its_window(settings):
    settings.THROTTLE_RATES = "signin=1000/min"
    settings.LOCKOUT_THRESHOLD = 3
    user = UserFactory()
    for _ in range(3):
        attempt_sign_in(user.email, "wrong password")

    with time_machine.travel(timezone.now() + timezone.timedelta(minutes=16)):
        response = attempt_sign_in(user.email, PASSWORD)

    assert response.status_code == 200


@pytest.mark.django_db
def test_successful_signin_resets_the_failure_count(settings):
    settings.THROTTLE_RATES = "signin=1000/min"
    settings.LOCKOUT_THRESHOLD = 3
    user = UserFactory()

    codes = []
    for _ in range(3):
        codes += [
            attempt_sign_in(user.email, "wrong password").status_code for _ in range(2)
        ]
        codes.append(attempt_sign_in(user.email, PASSWORD).status_code)

    assert codes == [401, 401, 200] * 3


@pytest.mark.django_db
def test_lockout_also_counts_unknown_accounts_so_it_reveals_nothing(settings):
    settings.THROTTLE_RATES = "signin=1000/min"
    settings.LOCKOUT_THRESHOLD = 3

    codes = [
        attempt_sign_in("nobody@example.com", "wrong password").status_code
        for _ in range(4)
    ]

    assert codes == [401, 401, 401, 429]


@pytest.mark.django_db
def test_throttle_rates_off_disables_throttling_and_lockout(settings):
    settings.THROTTLE_RATES = "off"
    user = UserFactory()

    codes = {
        attempt_sign_in(user.email, "wrong password").status_code for _ in range(25)
    }

    assert codes == {401}
    assert attempt_sign_in(user.email, PASSWORD).status_code == 200


@pytest.mark.django_db
def test_forgot_password_flood_is_throttled_per_ip(mailoutbox):
    client = APIClient(REMOTE_ADDR="198.51.100.9")
    users = UserFactory.create_batch(7)

    codes = [
        client.post(FORGOT, {"email": user.email}, format="json").status_code
        for user in users
    ]

    assert codes == [200] * 5 + [429, 429]
    assert len(mailoutbox) == 5


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "backend",
    [
        "django.core.cache.backends.locmem.LocMemCache",
        # Without Redis the shared cache is the database: counts go to locked rows.
        "django.core.cache.backends.db.DatabaseCache",
    ],
)
def test_parallel_wrong_passwords_never_exceed_the_limit(settings, backend):
    settings.CACHES = {"default": {"BACKEND": backend, "LOCATION": "identity_cache"}}
    user = UserFactory()
    barrier = threading.Barrier(50)
    codes = []

    def attempt():
        try:
            barrier.wait()
            codes.append(attempt_sign_in(user.email, "wrong password").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert codes.count(401) == 10
    assert codes.count(429) == 40


@pytest.mark.django_db
def test_cache_outage_fails_closed_with_503(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    user = UserFactory()

    response = attempt_sign_in(user.email, PASSWORD)

    assert response.status_code == 503
    assert response.json()["detail"]
    assert "Traceback" not in response.content.decode()


@pytest.mark.django_db
def test_authenticated_api_is_throttled_per_user(settings, auth_api_client):
    settings.THROTTLE_RATES = "user=3/min"

    codes = [auth_api_client.get("/api/v1/users/me").status_code for _ in range(4)]

    assert codes == [200, 200, 200, 429]


@pytest.mark.django_db
def test_lockout_holds_when_the_shared_cache_is_the_database(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "identity_cache",
        }
    }
    settings.THROTTLE_RATES = "signin=1000/min"
    settings.LOCKOUT_THRESHOLD = 3
    user = UserFactory()
    for _ in range(3):
        attempt_sign_in(user.email, "wrong password")

    locked = attempt_sign_in(user.email, PASSWORD)
    with time_machine.travel(timezone.now() + timezone.timedelta(minutes=16)):
        later = attempt_sign_in(user.email, PASSWORD)

    assert (locked.status_code, later.status_code) == (429, 200)
