"""Signing out one session kills that session's access tokens at once, whichever
door ends it, and leaves the user's other sessions alone."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import services
from accounts.models import TokenSession, User
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import ME, SESSIONS, signed_in

pytestmark = pytest.mark.django_db


def test_api_signout_kills_that_sessions_access_token_at_once(user):
    client, first = signed_in(user)
    other, _ = signed_in(user)

    response = client.post(
        "/api/v1/auth/signout", {"refresh_token": first["refresh_token"]}, format="json"
    )

    assert response.status_code == 204
    assert client.get(ME).status_code == 401
    assert other.get(ME).status_code == 200


def test_deleting_a_session_kills_its_access_token_at_once(user):
    client, _ = signed_in(user)
    phone, _ = signed_in(user)
    phone_id = next(s["id"] for s in client.get(SESSIONS).json() if not s["current"])

    response = client.delete(f"{SESSIONS}/{phone_id}")

    assert response.status_code == 204
    assert phone.get(ME).status_code == 401
    assert client.get(ME).status_code == 200


def test_deleting_ones_own_current_session_is_allowed_and_kills_its_token(user):
    client, _ = signed_in(user)
    other, _ = signed_in(user)
    current = next(s["id"] for s in client.get(SESSIONS).json() if s["current"])

    response = client.delete(f"{SESSIONS}/{current}")

    assert response.status_code == 204
    assert client.get(ME).status_code == 401
    assert other.get(ME).status_code == 200


def test_revoking_from_the_security_page_kills_the_access_token_at_once(client, user):
    api, _ = signed_in(user)
    session = TokenSession.objects.get(user=user)
    client.force_login(user)

    response = client.post(f"/accounts/security/sessions/{session.pk}/revoke/")

    assert response.status_code == 302
    assert api.get(ME).status_code == 401
    assert client.get("/accounts/security/").status_code == 200


def test_revoking_one_users_session_leaves_another_users_tokens_alone(user):
    client, _ = signed_in(user)
    stranger, _ = signed_in(UserFactory())
    current = next(s["id"] for s in client.get(SESSIONS).json() if s["current"])

    client.delete(f"{SESSIONS}/{current}")

    assert stranger.get(ME).status_code == 200


def test_concurrent_revocations_both_stay_recorded(user):
    """Two revocations racing on stale copies of the user row must not drop each
    other's entry (the list is rewritten under a row lock)."""
    first_client, _ = signed_in(user)
    second_client, _ = signed_in(user)
    first, second = TokenSession.objects.filter(user=user).order_by("created_at")
    stale_a = User.objects.get(pk=user.pk)
    stale_b = User.objects.get(pk=user.pk)

    services.revoke_session(user=stale_a, session_id=first.pk)
    services.revoke_session(user=stale_b, session_id=second.pk)

    assert first_client.get(ME).status_code == 401
    assert second_client.get(ME).status_code == 401


def test_revoked_session_ids_are_pruned_after_the_access_token_lifetime(user):
    old_client, _ = signed_in(user)
    old = TokenSession.objects.get(user=user)
    old_client.delete(f"{SESSIONS}/{old.pk}")

    with time_machine.travel(timezone.now() + timedelta(minutes=17)):
        client, _ = signed_in(user)
        current = next(s["id"] for s in client.get(SESSIONS).json() if s["current"])
        client.delete(f"{SESSIONS}/{current}")

    user.refresh_from_db()
    assert list(user.revoked_sessions) == [current]


def test_checking_revoked_sessions_costs_no_extra_query(
    user, django_assert_num_queries
):
    client, _ = signed_in(user)
    with CaptureQueriesContext(connection) as before:
        assert client.get(ME).status_code == 200
    queries = len(before.captured_queries)  # read now: each request resets the log
    revoked, _ = signed_in(user)
    revoked_id = next(s["id"] for s in revoked.get(SESSIONS).json() if s["current"])
    revoked.delete(f"{SESSIONS}/{revoked_id}")

    with django_assert_num_queries(queries):
        response = client.get(ME)

    assert response.status_code == 200
    assert revoked.get(ME).status_code == 401


def test_saving_a_stale_copy_of_the_user_does_not_bring_a_revoked_session_back(user):
    client, _ = signed_in(user)
    stale = User.objects.get(pk=user.pk)
    current = next(s["id"] for s in client.get(SESSIONS).json() if s["current"])
    client.delete(f"{SESSIONS}/{current}")

    stale.first_name = "Grace"
    stale.save()

    assert client.get(ME).status_code == 401
