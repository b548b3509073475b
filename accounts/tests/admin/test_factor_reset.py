"""Staff start a factor reset from the admin, with a reason; who may start
one for whom, and what it sends. Staff never remove factors themselves."""

from datetime import timedelta

import pytest
import time_machine

from accounts.models import Authenticator, AuthEvent, FactorReset
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import (
    ADMIN_USERS,
    admin_action,
    browser_proving,
    emailed_path,
    password_only,
    shown_messages,
)

pytestmark = pytest.mark.django_db
REASON = "Lost phone; identity checked by video call, ticket 4711"


def with_totp(user):
    Authenticator.objects.create(user=user, kind=Authenticator.Kind.TOTP, secret="x")
    return user


@pytest.fixture
def member():
    return with_totp(UserFactory())


def recent_browser(user):
    return browser_proving(user, password_only())


def start_reset(browser, *users, reason=REASON):
    return admin_action(browser, "start_factor_reset", *users, apply="1", reason=reason)


def test_action_first_asks_for_the_reason(superuser, member, mailoutbox):
    browser = recent_browser(superuser)

    response = admin_action(browser, "start_factor_reset", member)

    assert response.status_code == 200
    assert "reason" in response.context["form"].fields
    assert member.email in response.content.decode()
    assert not FactorReset.objects.exists()
    assert mailoutbox == []


def test_superuser_starts_a_reset_that_emails_the_owner_a_link(
    superuser, member, mailoutbox
):
    browser = recent_browser(superuser)

    response = start_reset(browser, member)

    assert shown_messages(response) == ["1 account(s) sent a two-factor reset link."]
    (reset,) = FactorReset.objects.all()
    assert (reset.user, reset.started_by, reset.reason) == (member, superuser, REASON)
    (message,) = mailoutbox
    assert message.to == [member.email]
    assert REASON in message.body
    assert emailed_path(message).startswith("/accounts/mfa/reset/")
    event = AuthEvent.objects.get(user=member, type="factor_reset_started")
    assert event.detail == {
        "door": "admin",
        "by": str(superuser.pk),
        "reason": REASON,
        "reset": str(reset.pk),
    }
    assert member.authenticators.count() == 1


def test_reset_needs_a_reason(superuser, member, mailoutbox):
    browser = recent_browser(superuser)

    response = start_reset(browser, member, reason="   ")

    assert response.status_code == 200
    assert response.context["form"].errors["reason"]
    assert not FactorReset.objects.exists()
    assert mailoutbox == []


def test_staff_with_a_recent_sign_in_may_reset_a_member(staff, member, mailoutbox):
    browser = recent_browser(staff)

    start_reset(browser, member)

    assert FactorReset.objects.get().started_by == staff
    assert len(mailoutbox) == 1


def test_staff_may_not_reset_a_staff_account(staff, mailoutbox):
    colleague = with_totp(UserFactory(is_staff=True))
    browser = recent_browser(staff)

    response = start_reset(browser, colleague)

    assert shown_messages(response) == [
        f"{colleague}: Only another superuser may reset the factors of a staff account."
    ]
    assert not FactorReset.objects.exists()
    assert mailoutbox == []


def test_superuser_may_not_reset_their_own_factors(superuser, mailoutbox):
    with_totp(superuser)
    browser = recent_browser(superuser)

    start_reset(browser, superuser)

    assert not FactorReset.objects.exists()
    assert mailoutbox == []


def test_another_superuser_may_reset_a_superuser(superuser, mailoutbox):
    other_root = with_totp(UserFactory(is_staff=True, is_superuser=True))
    browser = recent_browser(superuser)

    start_reset(browser, other_root)

    assert FactorReset.objects.get().user == other_root
    assert mailoutbox[0].to == [other_root.email]


def test_reset_without_a_recent_sign_in_goes_to_reauthenticate(
    superuser_client, member, mailoutbox
):
    # The sign-in of the fixture is recent; ten minutes later it is not.
    with time_machine.travel(timedelta(minutes=10)):
        response = admin_action(
            superuser_client, "start_factor_reset", member, apply="1", reason=REASON
        )

    assert response.redirect_chain[0][0] == (
        "/accounts/reauthenticate/?next=" + ADMIN_USERS.replace("/", "%2F")
    )
    assert not FactorReset.objects.exists()
    assert mailoutbox == []
