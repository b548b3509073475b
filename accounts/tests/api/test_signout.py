import pytest

from accounts.tests.factories import UserFactory
from accounts.tests.helpers import ME, REFRESH, SIGNOUT, SIGNOUT_ALL, signed_in

pytestmark = pytest.mark.django_db


def test_signout_ends_that_session_only(user):
    client, first = signed_in(user)
    _, second = signed_in(user)

    response = client.post(
        SIGNOUT, {"refresh_token": first["refresh_token"]}, format="json"
    )

    assert response.status_code == 204
    assert (
        client.post(
            REFRESH, {"refresh_token": first["refresh_token"]}, format="json"
        ).status_code
        == 401
    )
    assert (
        client.post(
            REFRESH, {"refresh_token": second["refresh_token"]}, format="json"
        ).status_code
        == 200
    )


def test_signout_requires_a_bearer_token(api_client, tokens):
    response = api_client.post(
        SIGNOUT, {"refresh_token": tokens["refresh_token"]}, format="json"
    )

    assert response.status_code == 401


def test_signout_of_another_users_refresh_token_is_400_and_revokes_nothing(user):
    client, _ = signed_in(user)
    _, victim = signed_in(UserFactory())

    response = client.post(
        SIGNOUT, {"refresh_token": victim["refresh_token"]}, format="json"
    )

    assert response.status_code == 400
    assert "refresh_token" in response.json()
    assert (
        client.post(
            REFRESH, {"refresh_token": victim["refresh_token"]}, format="json"
        ).status_code
        == 200
    )


def test_signout_all_revokes_every_access_and_refresh_token(user):
    client, first = signed_in(user)
    other, second = signed_in(user)

    response = client.post(SIGNOUT_ALL)

    assert response.status_code == 204
    assert client.get(ME).status_code == 401
    assert other.get(ME).status_code == 401
    for body in (first, second):
        refreshed = client.post(
            REFRESH, {"refresh_token": body["refresh_token"]}, format="json"
        )
        assert refreshed.status_code == 401


def test_token_issued_right_after_signout_all_works(user):
    client, _ = signed_in(user)
    client.post(SIGNOUT_ALL)

    fresh, _ = signed_in(user)

    assert fresh.get(ME).status_code == 200


def test_signout_all_requires_a_bearer_token(api_client):
    assert api_client.post(SIGNOUT_ALL).status_code == 401
