"""The pages' reset and verification links are rate-limited per address too,
and a throttled request is a page with 429, never a 500."""

import pytest
import time_machine
from django.test import Client

from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _still_clock():
    with time_machine.travel("2026-06-01 12:00:20Z", tick=False):
        yield


def test_guessing_reset_links_on_the_page_is_throttled_with_a_429_page():
    client = Client(REMOTE_ADDR="198.51.100.7")

    codes = [
        client.get(f"/accounts/password/reset/MQ/guess-{i}/").status_code
        for i in range(31)
    ]
    last = client.get("/accounts/password/reset/MQ/guess-x/")

    assert codes == [200] * 30 + [429]
    assert int(last["Retry-After"]) > 0
    assert "Too many attempts" in last.content.decode()


def test_guessing_verification_links_on_the_page_is_throttled_with_a_429_page():
    client = Client(REMOTE_ADDR="198.51.100.7")
    codes = []
    for i in range(31):
        client.get(f"/accounts/verify-email/MQ/guess-{i}/")
        codes.append(client.post("/accounts/verify-email/MQ/confirm/").status_code)

    assert codes == [200] * 30 + [429]
    assert (
        "Too many attempts"
        in client.post("/accounts/verify-email/MQ/confirm/").content.decode()
    )


def test_a_throttled_reset_form_shows_the_refusal_not_a_500(mailoutbox):
    user = UserFactory()
    client = Client(REMOTE_ADDR="198.51.100.7")
    client.post("/accounts/password/forgot/", {"email": user.email})
    path = next(
        word for word in mailoutbox[0].body.split() if "/password/reset/" in word
    )
    form_page = client.get(path.split("id.example.com", 1)[1], follow=True)
    assert form_page.status_code == 200
    for i in range(30):
        Client(REMOTE_ADDR="198.51.100.7").post(
            "/api/v1/auth/reset-password",
            {"uid": "MQ", "token": f"t{i}", "new_password": "x"},
            content_type="application/json",
        )

    response = client.post(
        form_page.redirect_chain[-1][0],
        {
            "new_password": "a brand new passphrase",
            "new_password_confirmation": "a brand new passphrase",
        },
    )

    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
    user.refresh_from_db()
    assert not user.check_password("a brand new passphrase")
