import uuid

import pytest

from accounts.tests.factories import UserFactory
from accounts.tests.helpers import SESSIONS, signed_in

pytestmark = pytest.mark.django_db


def test_sessions_lists_active_sessions_and_marks_the_current_one(user):
    client, _ = signed_in(user, HTTP_USER_AGENT="laptop")
    signed_in(user, HTTP_USER_AGENT="phone")

    response = client.get(SESSIONS)

    assert response.status_code == 200
    sessions = response.json()
    assert len(sessions) == 2
    assert {s["user_agent"] for s in sessions} == {"laptop", "phone"}
    assert [s["user_agent"] for s in sessions if s["current"]] == ["laptop"]
    assert set(sessions[0]) == {
        "id",
        "created_at",
        "expires_at",
        "ip",
        "user_agent",
        "current",
    }
    assert sessions[0]["ip"] == "127.0.0.1"


def test_deleting_a_session_revokes_its_refresh_token(user):
    client, _ = signed_in(user, HTTP_USER_AGENT="laptop")
    _, phone = signed_in(user, HTTP_USER_AGENT="phone")
    phone_id = next(s["id"] for s in client.get(SESSIONS).json() if not s["current"])

    response = client.delete(f"{SESSIONS}/{phone_id}")

    assert response.status_code == 204
    refreshed = client.post(
        "/api/v1/auth/token/refresh",
        {"refresh_token": phone["refresh_token"]},
        format="json",
    )
    assert refreshed.status_code == 401
    assert len(client.get(SESSIONS).json()) == 1


def test_deleting_another_users_session_is_404_and_keeps_it(user):
    client, _ = signed_in(user)
    victim_client, victim = signed_in(UserFactory())
    victim_session = victim_client.get(SESSIONS).json()[0]["id"]

    response = client.delete(f"{SESSIONS}/{victim_session}")

    assert response.status_code == 404
    assert len(victim_client.get(SESSIONS).json()) == 1


@pytest.mark.parametrize("session_id", [str(uuid.uuid4()), "not-a-uuid"])
def test_deleting_an_unknown_session_is_404(user, session_id):
    client, _ = signed_in(user)

    response = client.delete(f"{SESSIONS}/{session_id}")

    assert response.status_code == 404


def test_sessions_require_a_bearer_token(api_client):
    assert api_client.get(SESSIONS).status_code == 401
