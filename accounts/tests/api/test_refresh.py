import pytest
import time_machine
from django.utils import timezone

from accounts.models import AuthEvent, TokenSession
from accounts.tests.helpers import ME, REFRESH

pytestmark = pytest.mark.django_db


def refresh(api_client, token):
    return api_client.post(REFRESH, {"refresh_token": token}, format="json")


def test_refresh_returns_a_new_access_and_a_rotated_refresh_token(api_client, tokens):
    response = refresh(api_client, tokens["refresh_token"])

    assert response.status_code == 200
    body = response.json()
    assert body["refresh_token"] != tokens["refresh_token"]
    assert body["token_type"] == "Bearer"
    assert response["Cache-Control"] == "no-store"
    me = api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    assert me.status_code == 200


def test_rotated_refresh_token_keeps_working_down_the_chain(api_client, tokens):
    second = refresh(api_client, tokens["refresh_token"]).json()

    third = refresh(api_client, second["refresh_token"])

    assert third.status_code == 200


def test_reusing_a_rotated_refresh_token_revokes_every_session(
    api_client, tokens, user
):
    rotated = refresh(api_client, tokens["refresh_token"]).json()

    # Past the refresh_conflict grace (test_cookie_transport covers within it).
    with time_machine.travel(timezone.now() + timezone.timedelta(seconds=11)):
        reuse = refresh(api_client, tokens["refresh_token"])

    assert reuse.status_code == 401
    assert refresh(api_client, rotated["refresh_token"]).status_code == 401
    me = api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {rotated['access_token']}")
    assert me.status_code == 401
    assert AuthEvent.objects.filter(user=user, type="token_reuse").exists()
    assert not TokenSession.objects.filter(user=user, revoked_at__isnull=True).exists()


def test_signed_out_refresh_token_is_a_plain_401(api_client, tokens, auth_api_client):
    auth_api_client.post(
        "/api/v1/auth/signout",
        {"refresh_token": tokens["refresh_token"]},
        format="json",
    )

    response = refresh(api_client, tokens["refresh_token"])

    assert response.status_code == 401
    assert not AuthEvent.objects.filter(type="token_reuse").exists()
    # Contract v1.1: the signed-out session's access token dies with it.
    assert auth_api_client.get(ME).status_code == 401


def test_expired_refresh_token_is_401(api_client, tokens):
    with time_machine.travel(timezone.now() + timezone.timedelta(days=8)):
        response = refresh(api_client, tokens["refresh_token"])

    assert response.status_code == 401


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c"])
def test_malformed_refresh_token_is_refused(api_client, token):
    response = refresh(api_client, token)

    assert response.status_code in (400, 401)


def test_refresh_for_a_deactivated_user_is_401(api_client, tokens, user):
    user.is_active = False
    user.save()

    response = refresh(api_client, tokens["refresh_token"])

    assert response.status_code == 401


def test_refresh_for_a_hard_deleted_user_is_401(api_client, tokens, user):
    user.delete()

    response = refresh(api_client, tokens["refresh_token"])

    assert response.status_code == 401


def test_refresh_token_is_not_stored_in_the_database(tokens, user):
    session = TokenSession.objects.get(user=user)

    stored = " ".join(str(value) for value in session.__dict__.values())

    assert tokens["refresh_token"] not in stored
    assert tokens["refresh_token"].split(".")[2] not in stored
