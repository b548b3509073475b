"""Forgot-password and resend-verification under attack: flooding someone's
address must neither lock the owner out nor reveal anything, and the request
must do the same work whether or not the address has an account."""

import pytest
import time_machine
from django_tasks_db.models import DBTaskResult
from rest_framework.test import APIClient

from accounts.models import AuthEvent
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import FORGOT, RESEND

pytestmark = pytest.mark.django_db

# Emails of one kind an account receives per hour however often it is asked for.
EMAIL_CAP = 3


@pytest.fixture(autouse=True)
def _mid_window():
    """Hold the clock inside one hourly window, so no counter resets mid-test."""
    with time_machine.travel("2026-06-01 12:20:00Z", tick=False):
        yield


def ask(url, email, ip):
    return APIClient(REMOTE_ADDR=ip).post(url, {"email": email}, format="json")


@pytest.mark.parametrize(
    ("url", "verified"), [(FORGOT, True), (RESEND, False)], ids=["forgot", "resend"]
)
def test_flooding_an_address_from_two_ips_still_answers_the_owner(
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

    assert {response.status_code for response in [*flood, owner]} == {200}
    assert {response.content for response in [*flood, owner]} == {unknown.content}
    assert len(mailoutbox) == EMAIL_CAP
    assert {tuple(message.to) for message in mailoutbox} == {(victim.email,)}


@pytest.mark.parametrize("url", [FORGOT, RESEND], ids=["forgot", "resend"])
def test_flooding_an_address_from_many_ips_sends_at_most_the_cap(url, mailoutbox):
    victim = UserFactory(email_verified=url == FORGOT)

    codes = {ask(url, victim.email, f"203.0.113.{i}").status_code for i in range(20)}

    assert codes == {200}
    assert len(mailoutbox) == EMAIL_CAP


def test_the_cap_counts_every_spelling_of_the_address(mailoutbox):
    victim = UserFactory(email="victim@example.com")
    spellings = ["victim@example.com", "VICTIM@example.com", " Victim@Example.COM"]

    for i in range(3):
        for spelling in spellings:
            ask(FORGOT, spelling, f"203.0.113.{i}")

    assert len(mailoutbox) == EMAIL_CAP
    assert {tuple(message.to) for message in mailoutbox} == {(victim.email,)}


def test_reset_and_verification_emails_are_capped_apart(mailoutbox):
    victim = UserFactory(email_verified=False)
    for i in range(EMAIL_CAP + 1):
        ask(RESEND, victim.email, f"203.0.113.{i}")
    mailoutbox.clear()

    response = ask(FORGOT, victim.email, "198.51.100.50")

    assert response.status_code == 200
    assert [message.to for message in mailoutbox] == [[victim.email]]


def test_the_cap_lifts_in_the_next_hour(mailoutbox):
    victim = UserFactory()
    for i in range(EMAIL_CAP + 2):
        ask(FORGOT, victim.email, f"203.0.113.{i}")
    mailoutbox.clear()

    with time_machine.travel("2026-06-01 13:05:00Z", tick=False):
        ask(FORGOT, victim.email, "198.51.100.50")

    assert [message.to for message in mailoutbox] == [[victim.email]]


@pytest.mark.parametrize("url", [FORGOT, RESEND], ids=["forgot", "resend"])
def test_one_client_flooding_is_still_refused_with_429(url):
    responses = [ask(url, f"someone{i}@example.com", "198.51.100.9") for i in range(6)]

    assert [response.status_code for response in responses] == [200] * 5 + [429]
    assert int(responses[-1]["Retry-After"]) > 0
    assert responses[-1].json()["detail"].startswith("Too many attempts")


def test_a_withheld_email_records_no_reset_request():
    victim = UserFactory()

    for i in range(EMAIL_CAP + 2):
        ask(FORGOT, victim.email, f"203.0.113.{i}")

    requested = AuthEvent.objects.filter(
        user=victim, type=AuthEvent.Type.PASSWORD_RESET_REQUESTED
    )
    assert requested.count() == EMAIL_CAP
    assert requested.first().ip == "203.0.113.0"


# ---------------------------------------------------------------------------
# The request does the same work for any address (timing enumeration)
# ---------------------------------------------------------------------------
@pytest.fixture
def queued_tasks(settings):
    """The production task queue: the request only writes a row, the worker
    (not run here) does the rest."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    return DBTaskResult.objects


@pytest.mark.parametrize(
    ("url", "verified"), [(FORGOT, True), (RESEND, False)], ids=["forgot", "resend"]
)
def test_request_does_the_same_queries_for_known_and_unknown_addresses(
    url, verified, queued_tasks, django_assert_num_queries
):
    known = UserFactory(email_verified=verified)
    ask(url, "warm-up@example.com", "192.0.2.1")  # first-use caches aside
    with django_assert_num_queries(1) as unknown_queries:
        ask(url, "nobody@example.com", "192.0.2.2")

    with django_assert_num_queries(1) as known_queries:
        ask(url, known.email, "192.0.2.3")

    shapes = [
        [query["sql"].split(" VALUES ")[0] for query in captured.captured_queries]
        for captured in (unknown_queries, known_queries)
    ]
    assert shapes[0] == shapes[1]


@pytest.mark.parametrize("url", [FORGOT, RESEND], ids=["forgot", "resend"])
def test_queued_request_holds_the_address_and_no_account_or_token(
    url, queued_tasks, mailoutbox
):
    known = UserFactory(email="ada@example.com", email_verified=url == FORGOT)

    ask(url, "  ADA@Example.com", "192.0.2.3")

    (row,) = queued_tasks.all()
    assert row.args_kwargs["kwargs"]["email"] == "ada@example.com"
    assert str(known.pk) not in str(row.args_kwargs)
    assert mailoutbox == []
