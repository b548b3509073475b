"""Sign-in must not reveal which accounts exist through its response time."""

import statistics
import time

import pytest
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


def test_unknown_account_and_wrong_password_take_comparable_time(settings):
    settings.THROTTLE_RATES = "off"
    settings.PASSWORD_HASHERS = ["accounts.hashers.Argon2PasswordHasher"]
    user = UserFactory(password="the real passphrase")
    client = APIClient()

    def timed(email):
        start = time.perf_counter()
        response = client.post(
            "/api/v1/auth/signin",
            {"email": email, "password": "a wrong guess"},
            format="json",
        )
        assert response.status_code == 401
        return time.perf_counter() - start

    timed(user.email)  # warm-up
    known, unknown = [], []
    for i in range(30):  # interleaved, so drift hits both sides alike
        known.append(timed(user.email))
        unknown.append(timed(f"nobody{i}@example.com"))

    ratio = statistics.median(unknown) / statistics.median(known)
    assert 0.8 <= ratio <= 1.25, f"median ratio {ratio:.2f}"
