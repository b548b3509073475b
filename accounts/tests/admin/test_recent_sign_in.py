"""Every staff write in the admin (change form, add form, actions, deletes)
needs the actor's own recent sign-in; a stale one is sent to reauthenticate."""

from datetime import timedelta

import pytest
import time_machine

from accounts.models import AuthEvent, User
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import (
    ADMIN_USERS,
    admin_action,
    browser_signed_in,
    change_form_data,
    stale_by,
)

pytestmark = pytest.mark.django_db

START = "2030-01-01 12:00:00Z"


@pytest.fixture
def stale_admin(superuser, client):
    """A superuser's admin browser, signed in longer ago than REAUTH_WINDOW."""
    with time_machine.travel(START, tick=False) as clock:
        browser_signed_in(superuser, client=client, admin=True)
        clock.shift(timedelta(seconds=stale_by()))
        yield client


def _is_reauthentication(response, path):
    return response.status_code == 302 and response["Location"] == (
        "/accounts/reauthenticate/?next=" + path.replace("/", "%2F")
    )


def test_the_change_form_save_is_refused(stale_admin, user):
    path = f"{ADMIN_USERS}{user.pk}/change/"

    response = stale_admin.post(path, change_form_data(user, first_name="Augusta"))

    assert _is_reauthentication(response, path)
    user.refresh_from_db()
    assert user.first_name != "Augusta"


def test_the_add_form_is_refused(stale_admin):
    path = f"{ADMIN_USERS}add/"

    response = stale_admin.post(
        path,
        {"username": "grace", "email": "grace@example.com", "usable_password": "false"},
    )

    assert _is_reauthentication(response, path)
    assert not User.objects.filter(username="grace").exists()


@pytest.mark.parametrize(
    "action",
    [
        "deactivate",
        "send_password_reset",
        "revoke_tokens",
        "mark_email_verified",
        "activate",
        "restore",
    ],
)
def test_every_action_is_refused(stale_admin, action, mailoutbox):
    target = UserFactory(email_verified=False)
    events = AuthEvent.objects.filter(user=target).count()

    response = stale_admin.post(
        ADMIN_USERS, {"action": action, "_selected_action": [str(target.pk)]}
    )

    assert _is_reauthentication(response, ADMIN_USERS)
    assert AuthEvent.objects.filter(user=target).count() == events
    assert mailoutbox == []


def test_the_bulk_delete_is_refused(stale_admin):
    target = UserFactory()

    response = stale_admin.post(
        ADMIN_USERS,
        {
            "action": "delete_selected",
            "_selected_action": [str(target.pk)],
            "post": "yes",
        },
    )

    assert _is_reauthentication(response, ADMIN_USERS)
    assert User.objects.filter(pk=target.pk).exists()


def test_the_delete_page_is_refused(stale_admin):
    target = UserFactory()
    path = f"{ADMIN_USERS}{target.pk}/delete/"

    response = stale_admin.post(path, {"post": "yes"})

    assert _is_reauthentication(response, path)
    assert User.objects.filter(pk=target.pk).exists()


def test_a_fresh_sign_in_runs_the_action(superuser_client):
    target = UserFactory()

    response = admin_action(superuser_client, "deactivate", target)

    target.refresh_from_db()
    assert response.status_code == 200
    assert target.is_active is False


def test_reading_the_admin_needs_no_recent_sign_in(stale_admin, user):
    listed = stale_admin.get(ADMIN_USERS)
    shown = stale_admin.get(f"{ADMIN_USERS}{user.pk}/change/")

    assert listed.status_code == 200
    assert shown.status_code == 200
