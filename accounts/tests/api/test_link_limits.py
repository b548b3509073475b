"""Reset-password and verify-email tokens cannot be tried without limit from
one address (nor from clients whose address is unknown)."""

import pytest
import time_machine
from rest_framework.test import APIClient

from accounts.tests.helpers import RESET, VERIFY

pytestmark = pytest.mark.django_db

BODIES = {
    RESET: {"uid": "MQ", "token": "forged-token", "new_password": "a new passphrase"},
    VERIFY: {"uid": "MQ", "token": "forged-token"},
}


@pytest.fixture(autouse=True)
def _still_clock():
    with time_machine.travel("2026-06-01 12:00:20Z", tick=False):
        yield


@pytest.mark.parametrize("path", [RESET, VERIFY])
@pytest.mark.parametrize("ip", ["198.51.100.7", "2001:db8::1", ""])
def test_token_guesses_from_one_address_are_throttled_with_retry_after(path, ip):
    client = APIClient(REMOTE_ADDR=ip)

    codes = [
        client.post(path, BODIES[path], format="json").status_code for _ in range(31)
    ]
    last = client.post(path, BODIES[path], format="json")

    assert codes == [400] * 30 + [429]
    assert last.status_code == 429
    assert 1 <= int(last["Retry-After"]) <= 3600
    assert "detail" in last.json()


def test_the_token_limit_counts_an_ipv6_64_as_one_address():
    codes = [
        APIClient(REMOTE_ADDR=f"2001:db8::{i:x}")
        .post(VERIFY, BODIES[VERIFY], format="json")
        .status_code
        for i in range(1, 32)
    ]

    assert codes[-1] == 429


def test_another_address_is_not_throttled_by_the_first():
    for _ in range(31):
        APIClient(REMOTE_ADDR="198.51.100.7").post(
            VERIFY, BODIES[VERIFY], format="json"
        )

    response = APIClient(REMOTE_ADDR="192.0.2.1").post(
        VERIFY, BODIES[VERIFY], format="json"
    )

    assert response.status_code == 400
