"""SESSION_MAX_AGE_DAYS: however often a session is refreshed, it ends that long
after its sign-in."""

from datetime import UTC, datetime, timedelta

import jwt
import pytest
import time_machine

from accounts.models import TokenSession
from accounts.tests.helpers import REFRESH, sign_in

pytestmark = pytest.mark.django_db

START = datetime(2030, 1, 6, 9, 0, tzinfo=UTC)


def refresh(api_client, refresh_token):
    return api_client.post(REFRESH, {"refresh_token": refresh_token}, format="json")


def exp(token: str) -> datetime:
    claims = jwt.decode(token, options={"verify_signature": False})
    return datetime.fromtimestamp(claims["exp"], tz=UTC)


def test_a_session_refreshed_every_few_days_ends_thirty_days_after_sign_in(
    api_client, user, password
):
    with time_machine.travel(START, tick=False) as clock:
        tokens = sign_in(user, password, client=api_client)
        for _ in range(4):  # day 6, 12, 18, 24
            clock.shift(timedelta(days=6))
            response = refresh(api_client, tokens["refresh_token"])
            assert response.status_code == 200, response.content
            tokens = response.json()
        clock.shift(timedelta(days=6, seconds=1))  # past day 30

        response = refresh(api_client, tokens["refresh_token"])

    assert response.status_code == 401


def test_refresh_never_moves_the_end_past_the_maximum_age(api_client, user, password):
    with time_machine.travel(START, tick=False) as clock:
        tokens = sign_in(user, password, client=api_client)
        for _ in range(4):
            clock.shift(timedelta(days=6))
            tokens = refresh(api_client, tokens["refresh_token"]).json()
        clock.shift(timedelta(days=5))  # day 29

        tokens = refresh(api_client, tokens["refresh_token"]).json()

    end = START + timedelta(days=30)
    session = TokenSession.objects.filter(user=user).latest("created_at")
    assert session.expires_at == end
    assert exp(tokens["refresh_token"]) == end
    assert exp(tokens["access_token"]) <= end


def test_maximum_age_is_configurable(api_client, user, password, settings):
    settings.SESSION_MAX_AGE_DAYS = 2
    with time_machine.travel(START, tick=False) as clock:
        tokens = sign_in(user, password, client=api_client)
        clock.shift(timedelta(days=1))
        tokens = refresh(api_client, tokens["refresh_token"]).json()
        clock.shift(timedelta(days=1, seconds=1))

        response = refresh(api_client, tokens["refresh_token"])

    assert response.status_code == 401
