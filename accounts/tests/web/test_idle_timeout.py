from datetime import UTC, datetime, timedelta

import time_machine

from accounts.tests.helpers import messages_of

START = datetime(2030, 1, 6, 9, 0, tzinfo=UTC)


def test_idle_browser_is_signed_out_after_the_idle_timeout(client, user, settings):
    settings.SESSION_IDLE_TIMEOUT = 60 * 60
    with time_machine.travel(START, tick=False) as clock:
        client.force_login(user)
        client.get("/")
        clock.shift(timedelta(hours=1, minutes=1))

        response = client.get("/accounts/profile/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/signin/?next=/accounts/profile/"
    assert "_auth_user_id" not in client.session
    assert messages_of(response) == [
        "You were signed out after a period of inactivity."
    ]


def test_active_browser_stays_signed_in_past_the_idle_timeout(client, user, settings):
    settings.SESSION_IDLE_TIMEOUT = 60 * 60
    with time_machine.travel(START, tick=False) as clock:
        client.force_login(user)
        for _ in range(3):
            client.get("/")
            clock.shift(timedelta(minutes=50))

        response = client.get("/accounts/profile/")

    assert response.status_code == 200


def test_default_idle_timeout_is_two_days(client, user):
    with time_machine.travel(START, tick=False) as clock:
        client.force_login(user)
        client.get("/")
        clock.shift(timedelta(days=1, hours=23))
        still_in = client.get("/accounts/profile/")
        clock.shift(timedelta(days=2, minutes=1))

        signed_out = client.get("/accounts/profile/")

    assert still_in.status_code == 200
    assert signed_out.status_code == 302


def test_last_seen_is_written_at_most_once_a_minute(client, user):
    with time_machine.travel(START, tick=False) as clock:
        client.force_login(user)
        client.get("/")
        first = client.session["_last_seen"]
        clock.shift(timedelta(seconds=30))
        client.get("/")
        unchanged = client.session["_last_seen"]
        clock.shift(timedelta(seconds=31))

        client.get("/")

        later = client.session["_last_seen"]
    assert unchanged == first
    assert later == first + 61


def test_active_browser_is_signed_out_thirty_days_after_signing_in(client, user):
    with time_machine.travel(START, tick=False) as clock:
        client.force_login(user)
        for _ in range(30):
            assert client.get("/accounts/profile/").status_code == 200
            clock.shift(timedelta(days=1))
        clock.shift(timedelta(seconds=1))

        response = client.get("/accounts/profile/")

    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
    assert messages_of(response) == ["Your session has expired. Please sign in again."]


def test_browser_maximum_age_is_configurable(client, user, settings):
    settings.SESSION_MAX_AGE_DAYS = 1
    with time_machine.travel(START, tick=False) as clock:
        client.force_login(user)
        client.get("/")
        clock.shift(timedelta(hours=23))
        still_in = client.get("/accounts/profile/")
        clock.shift(timedelta(hours=1, seconds=1))

        signed_out = client.get("/accounts/profile/")

    assert still_in.status_code == 200
    assert signed_out.status_code == 302
