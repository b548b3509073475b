"""A user's passkeys in the admin: listed without key material, removable by
staff who may manage the account, through the service's rules."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from accounts.models import AuthEvent
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import (
    ADMIN_USERS,
    browser_signed_in,
    enable_totp,
    shown_messages,
    signed_in,
    stale_by,
)
from accounts.tests.passkey_helpers import registered, software_authenticator

pytestmark = pytest.mark.django_db


def with_passkey(user, name="Work laptop"):
    client, _ = signed_in(user)
    registered(client, software_authenticator(), name=name)
    return user.authenticators.get()


def with_passkey_and_app(user, name="Lost laptop"):
    """An account that lost a device and keeps its authenticator app."""
    passkey = with_passkey(user, name=name)
    enable_totp(user)
    return passkey


def remove_url(user, passkey):
    return reverse("admin:accounts_user_remove_passkey", args=[user.pk, passkey.pk])


def test_the_change_page_lists_passkeys_without_key_material(superuser_client):
    user = UserFactory()
    passkey = with_passkey(user)

    page = superuser_client.get(f"{ADMIN_USERS}{user.pk}/change/")

    html = page.content.decode()
    assert page.status_code == 200
    assert "Work laptop" in html
    assert remove_url(user, passkey) in html
    assert passkey.credential_id not in html


def test_a_superuser_removes_a_passkey_audited_and_announced(
    superuser_client, superuser, mailoutbox
):
    user = UserFactory()
    passkey = with_passkey_and_app(user)

    response = superuser_client.post(remove_url(user, passkey))

    assert response.status_code == 302
    assert response["Location"] == f"{ADMIN_USERS}{user.pk}/change/"
    assert list(user.authenticators.values_list("kind", flat=True)) == ["totp"]
    assert user.recovery_codes.exists()
    event = user.auth_events.get(type=AuthEvent.Type.FACTOR_REMOVED)
    assert event.detail["actor"] == str(superuser.pk)
    assert mailoutbox[-1].to == [user.email]
    assert "removed" in mailoutbox[-1].subject


def test_staff_never_remove_the_last_factor_a_reset_is_the_way(
    superuser_client, mailoutbox
):
    user = UserFactory()
    passkey = with_passkey(user)
    sent = len(mailoutbox)

    response = superuser_client.post(remove_url(user, passkey), follow=True)

    assert user.authenticators.filter(pk=passkey.pk).exists()
    assert user.recovery_codes.exists()
    assert any("two-factor reset" in message for message in shown_messages(response))
    assert not user.auth_events.filter(type=AuthEvent.Type.FACTOR_REMOVED).exists()
    assert len(mailoutbox) == sent


def test_staff_cannot_remove_a_superusers_passkey(staff_client, superuser):
    passkey = with_passkey(superuser)

    response = staff_client.post(remove_url(superuser, passkey), follow=True)

    assert superuser.authenticators.filter(pk=passkey.pk).exists()
    assert any("superuser" in message for message in shown_messages(response))


def test_staff_remove_a_passkey_of_an_account_outside_staff_scope(staff_client):
    user = UserFactory()
    passkey = with_passkey_and_app(user)

    staff_client.post(remove_url(user, passkey))

    assert not user.authenticators.filter(pk=passkey.pk).exists()


def test_removal_needs_the_actors_recent_sign_in(client, superuser):
    user = UserFactory()
    passkey = with_passkey(user)
    with time_machine.travel("2030-01-01 12:00:00Z", tick=False) as clock:
        browser_signed_in(superuser, client=client, admin=True)
        clock.shift(timedelta(seconds=stale_by()))

        response = client.post(remove_url(user, passkey))

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/reauthenticate/")
    assert user.authenticators.exists()


def test_removal_is_post_only_and_another_users_passkey_is_not_found(
    superuser_client,
):
    user, other = UserFactory(), UserFactory()
    passkey = with_passkey(user)

    assert superuser_client.get(remove_url(user, passkey)).status_code == 405
    response = superuser_client.post(remove_url(other, passkey), follow=True)
    assert user.authenticators.exists()
    assert any("passkey" in message.lower() for message in shown_messages(response))
