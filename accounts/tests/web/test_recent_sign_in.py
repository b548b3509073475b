"""Pages whose purpose needs a recent sign-in send a stale browser to
reauthenticate, then back (`next`); nothing changes meanwhile."""

from datetime import timedelta

import pytest
import time_machine

from accounts.models import User
from accounts.tests.factories import PASSWORD
from accounts.tests.helpers import browser_signed_in, stale_by

pytestmark = pytest.mark.django_db

START = "2030-01-01 12:00:00Z"
CHANGE_PAGE = "/accounts/password/change/"
DELETE_PAGE = "/accounts/delete/"


def _change(client):
    return client.post(
        CHANGE_PAGE,
        {
            "old_password": PASSWORD,
            "new_password": "another long phrase 42!",
            "new_password_confirmation": "another long phrase 42!",
        },
    )


def _delete(client):
    return client.post(DELETE_PAGE, {"password": PASSWORD})


@pytest.mark.parametrize(
    ("path", "submit"), [(CHANGE_PAGE, _change), (DELETE_PAGE, _delete)]
)
def test_a_stale_browser_is_sent_to_reauthenticate_and_nothing_changes(
    client, user, path, submit
):
    with time_machine.travel(START, tick=False) as clock:
        browser_signed_in(user, client=client)
        clock.shift(timedelta(seconds=stale_by()))

        opened = client.get(path)
        submitted = submit(client)

    expected = f"/accounts/reauthenticate/?next={path.replace('/', '%2F')}"
    assert opened.status_code == 302
    assert opened["Location"] == expected
    assert submitted.status_code == 302
    assert submitted["Location"] == expected
    stored = User.objects.get(pk=user.pk)
    assert stored.check_password(PASSWORD)
    assert stored.deleted_at is None


@pytest.mark.parametrize(
    ("path", "submit"), [(CHANGE_PAGE, _change), (DELETE_PAGE, _delete)]
)
def test_a_fresh_browser_uses_the_page(client, user, path, submit):
    browser_signed_in(user, client=client)

    opened = client.get(path)
    submitted = submit(client)

    assert opened.status_code == 200
    assert submitted.status_code == 302
    assert "reauthenticate" not in submitted["Location"]


def test_a_browser_signed_in_without_a_recorded_proof_must_reauthenticate(client, user):
    client.force_login(user)  # a session that never proved a factor

    response = _change(client)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/reauthenticate/?next=")
    assert User.objects.get(pk=user.pk).check_password(PASSWORD)
