"""The forgot-password and resend-verification pages under attack: flooding
someone's address shows the usual confirmation and caps the emails; one client
flooding is refused with a 429 page, never a server error."""

import pytest
import time_machine
from django.test import Client

from accounts.tests.factories import UserFactory
from accounts.tests.helpers import FORGOT_PAGE, RESEND_PAGE

pytestmark = pytest.mark.django_db

DONE = {
    FORGOT_PAGE: "/accounts/password/forgot/done/",
    RESEND_PAGE: "/accounts/verify-email/resend/done/",
}
EMAIL_CAP = 3


@pytest.fixture(autouse=True)
def _mid_window():
    with time_machine.travel("2026-06-01 12:20:00Z", tick=False):
        yield


def ask(url, email, ip):
    return Client(REMOTE_ADDR=ip).post(url, {"email": email}, follow=True)


@pytest.mark.parametrize(
    ("url", "verified"),
    [(FORGOT_PAGE, True), (RESEND_PAGE, False)],
    ids=["forgot", "resend"],
)
def test_flooding_an_address_still_shows_the_owner_the_confirmation(
    url, verified, mailoutbox
):
    victim = UserFactory(email_verified=verified)
    unknown = ask(url, "nobody@example.com", "192.0.2.200")

    flood = [
        ask(url, victim.email, ip)
        for _ in range(4)
        for ip in ("203.0.113.1", "203.0.113.2")
    ]
    owner = ask(url, victim.email, "198.51.100.50")

    for response in [*flood, owner]:
        assert response.redirect_chain == [(DONE[url], 302)]
        assert response.status_code == 200
        assert response.content == unknown.content
    assert len(mailoutbox) == EMAIL_CAP
    assert {tuple(message.to) for message in mailoutbox} == {(victim.email,)}


@pytest.mark.parametrize("url", [FORGOT_PAGE, RESEND_PAGE], ids=["forgot", "resend"])
def test_one_client_flooding_gets_a_429_page_not_a_server_error(url, mailoutbox):
    client = Client(REMOTE_ADDR="198.51.100.9")
    for i in range(5):
        client.post(url, {"email": f"someone{i}@example.com"})

    response = client.post(url, {"email": "someone-else@example.com"})

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Too many attempts" in response.content.decode()
