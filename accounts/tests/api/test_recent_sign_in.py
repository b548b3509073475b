"""Sensitive operations need a recent sign-in (REAUTH_WINDOW): a stolen access
token or a session left open cannot change the password, delete the account or
act as staff. The owner's emergency brakes never need one."""

from datetime import timedelta

import jwt
import pytest
import time_machine

from accounts.models import TokenSession, User
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.helpers import (
    CHANGE,
    ME,
    SESSIONS,
    SIGNOUT,
    SIGNOUT_ALL,
    USERS,
    signed_in,
    stale_by,
)

pytestmark = pytest.mark.django_db

REAUTH = {"detail": "Reauthentication required", "code": "reauthentication_required"}
START = "2030-01-01 12:00:00Z"


def _owner_requests(target):
    return {
        "change-password": (
            "post",
            CHANGE,
            {"old_password": PASSWORD, "new_password": "another long phrase 42!"},
        ),
        "delete-account": ("delete", ME, {"password": PASSWORD}),
    }


def _staff_requests(target):
    return {
        "patch user": ("patch", f"{USERS}/{target.pk}", {"first_name": "Ada"}),
        "deactivate user": ("patch", f"{USERS}/{target.pk}", {"is_active": False}),
        "delete user": ("delete", f"{USERS}/{target.pk}", None),
        "create user": (
            "post",
            USERS,
            {"email": "new@example.com", "username": "newcomer"},
        ),
    }


def _call(client, request):
    method, path, body = request
    return getattr(client, method)(path, body, format="json")


@pytest.mark.parametrize("name", ["change-password", "delete-account"])
def test_an_owner_operation_with_a_stale_sign_in_is_refused(user, name):
    with time_machine.travel(START, tick=False) as clock:
        client, _ = signed_in(user)
        clock.shift(timedelta(seconds=stale_by()))

        response = _call(client, _owner_requests(user)[name])

    assert response.status_code == 403
    assert response.json() == REAUTH
    stored = User.objects.get(pk=user.pk)
    assert stored.check_password(PASSWORD)
    assert stored.is_active and stored.deleted_at is None


@pytest.mark.parametrize("name", ["change-password", "delete-account"])
def test_an_owner_operation_just_inside_the_window_passes(user, name, settings):
    with time_machine.travel(START, tick=False) as clock:
        client, _ = signed_in(user)
        clock.shift(timedelta(seconds=settings.REAUTH_WINDOW))

        response = _call(client, _owner_requests(user)[name])

    assert response.status_code in (200, 204), response.content


@pytest.mark.parametrize(
    "name", ["patch user", "deactivate user", "delete user", "create user"]
)
def test_a_staff_write_with_a_stale_sign_in_is_refused(superuser, name):
    target = UserFactory(first_name="")
    with time_machine.travel(START, tick=False) as clock:
        client, _ = signed_in(superuser)
        clock.shift(timedelta(seconds=stale_by()))

        response = _call(client, _staff_requests(target)[name])

    assert response.status_code == 403
    assert response.json() == REAUTH
    target.refresh_from_db()
    assert target.first_name == "" and target.is_active
    assert not User.objects.filter(username="newcomer").exists()


@pytest.mark.parametrize(
    "name", ["patch user", "deactivate user", "delete user", "create user"]
)
def test_a_staff_write_with_a_fresh_sign_in_passes(superuser, name):
    target = UserFactory()
    client, _ = signed_in(superuser)

    response = _call(client, _staff_requests(target)[name])

    assert response.status_code in (200, 201, 204), response.content


def test_a_staff_read_needs_no_recent_sign_in(superuser, user):
    with time_machine.travel(START, tick=False) as clock:
        client, _ = signed_in(superuser)
        clock.shift(timedelta(seconds=stale_by()))

        listed = client.get(USERS)
        shown = client.get(f"{USERS}/{user.pk}")

    assert listed.status_code == 200
    assert shown.status_code == 200


def test_editing_names_needs_no_recent_sign_in(user):
    with time_machine.travel(START, tick=False) as clock:
        client, _ = signed_in(user)
        clock.shift(timedelta(seconds=stale_by()))

        response = client.patch(ME, {"first_name": "Ada"}, format="json")

    assert response.status_code == 200
    assert response.json()["first_name"] == "Ada"


def test_the_emergency_brakes_need_no_recent_sign_in(user):
    with time_machine.travel(START, tick=False) as clock:
        client, tokens = signed_in(user)
        other_client, other = signed_in(user)
        third_client, _ = signed_in(user)
        clock.shift(timedelta(seconds=stale_by()))

        revoked = client.delete(f"{SESSIONS}/{_sid(other)}")
        signed_out = client.post(
            SIGNOUT, {"refresh_token": tokens["refresh_token"]}, format="json"
        )
        everywhere = third_client.post(SIGNOUT_ALL)

    assert revoked.status_code == 204
    assert signed_out.status_code == 204
    assert everywhere.status_code == 204


def _sid(tokens):
    return jwt.decode(tokens["access_token"], options={"verify_signature": False})[
        "sid"
    ]


def test_a_stale_sign_in_does_not_count_a_wrong_current_password(user):
    # The recent-sign-in check comes first: a stale session is no password
    # oracle at all.
    with time_machine.travel(START, tick=False) as clock:
        client, tokens = signed_in(user)
        clock.shift(timedelta(seconds=stale_by()))
        for _ in range(6):
            client.post(
                CHANGE,
                {"old_password": "wrong guess", "new_password": "x" * 20},
                format="json",
            )

    assert TokenSession.objects.get(pk=_sid(tokens)).revoked_at is None
