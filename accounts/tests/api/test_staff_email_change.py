"""Staff and email addresses: a staff change only starts the owner's pending
change; only a superuser may force a switch, with a reason (API and admin)."""

import pytest

from accounts.models import AuthEvent, PendingStep, User
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.helpers import (
    ADMIN_USERS,
    ME,
    USERS,
    attempt_sign_in,
    email_change_token,
    emailed_link,
    shown_messages,
    signed_in,
)

pytestmark = pytest.mark.django_db

NEW = "new@example.com"


def test_a_staff_patch_of_email_starts_a_pending_change(
    staff_api_client, user, mailoutbox
):
    response = staff_api_client.patch(
        f"{USERS}/{user.pk}", {"email": NEW}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["email"] == user.email
    assert response.json()["pending_email"] == NEW
    assert email_change_token(mailoutbox, "confirm", to=NEW)
    # The owner can refuse a change staff asked for from the old mailbox.
    assert email_change_token(mailoutbox, "cancel", to=user.email)
    event = AuthEvent.objects.get(user=user, type=AuthEvent.Type.EMAIL_CHANGE_REQUESTED)
    assert event.detail["by"]


def test_staff_views_include_pending_email(staff_api_client, user):
    shown = staff_api_client.get(f"{USERS}/{user.pk}").json()

    assert shown["pending_email"] is None


def test_a_superuser_forces_a_switch_with_a_reason(superuser_api_client, mailoutbox):
    owner = UserFactory()
    owner_client, _ = signed_in(owner)
    PendingStep.objects.create(
        purpose="enrol_code",
        digest="d" * 64,
        user=owner,
        generation=owner.token_generation,
        expires_at="2999-01-01T00:00:00Z",
    )
    generation = owner.token_generation
    old = owner.email

    response = superuser_api_client.patch(
        f"{USERS}/{owner.pk}",
        {"email": NEW, "force_email": True, "reason": "Lost the old mailbox"},
        format="json",
    )

    fresh = User.objects.get(pk=owner.pk)
    assert response.status_code == 200, response.content
    assert response.json()["email"] == NEW
    assert fresh.email == NEW
    assert fresh.email_verified is False
    assert fresh.token_generation > generation
    assert owner_client.get(ME).status_code == 401
    event = AuthEvent.objects.get(user=owner, type=AuthEvent.Type.EMAIL_REPLACED)
    assert event.detail["reason"] == "Lost the old mailbox"
    assert event.detail["by"]
    assert {m.to[0] for m in mailoutbox} >= {old, NEW}
    assert attempt_sign_in(NEW, PASSWORD).status_code == 200


def test_force_email_without_a_reason_is_400_reason(superuser_api_client, user):
    response = superuser_api_client.patch(
        f"{USERS}/{user.pk}", {"email": NEW, "force_email": True}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["reason"]
    assert User.objects.get(pk=user.pk).email == user.email


def test_force_email_by_plain_staff_is_403(staff_api_client, user):
    response = staff_api_client.patch(
        f"{USERS}/{user.pk}",
        {"email": NEW, "force_email": True, "reason": "asked nicely"},
        format="json",
    )

    assert response.status_code == 403
    fresh = User.objects.get(pk=user.pk)
    assert fresh.email == user.email and fresh.pending_email == ""


def test_force_email_to_a_taken_address_is_400_email(superuser_api_client, user):
    UserFactory(email=NEW)

    response = superuser_api_client.patch(
        f"{USERS}/{user.pk}",
        {"email": NEW, "force_email": True, "reason": "Lost the old mailbox"},
        format="json",
    )

    assert response.status_code == 400
    assert list(response.json()) == ["email"]


def test_the_admin_change_form_shows_the_pending_address(superuser_client, user):
    User.objects.filter(pk=user.pk).update(pending_email=NEW)

    page = superuser_client.get(f"{ADMIN_USERS}{user.pk}/change/")

    assert NEW in page.text


def test_the_admin_replace_address_action_asks_then_switches(
    superuser_client, user, mailoutbox
):
    asked = superuser_client.post(
        ADMIN_USERS, {"action": "replace_address", "_selected_action": [str(user.pk)]}
    )
    without_reason = superuser_client.post(
        ADMIN_USERS,
        {
            "action": "replace_address",
            "_selected_action": [str(user.pk)],
            "apply": "1",
            "email": NEW,
        },
    )
    unchanged = User.objects.get(pk=user.pk).email
    done = superuser_client.post(
        ADMIN_USERS,
        {
            "action": "replace_address",
            "_selected_action": [str(user.pk)],
            "apply": "1",
            "email": NEW,
            "reason": "Lost the old mailbox",
        },
        follow=True,
    )

    assert asked.status_code == 200
    assert 'name="reason"' in asked.text
    assert without_reason.status_code == 200
    assert unchanged == user.email
    assert any("address replaced" in m for m in shown_messages(done))
    fresh = User.objects.get(pk=user.pk)
    assert fresh.email == NEW and fresh.email_verified is False
    assert AuthEvent.objects.filter(
        user=user, type=AuthEvent.Type.EMAIL_REPLACED
    ).exists()
    emailed_link(mailoutbox[-1], "verify-email")


def test_the_replace_address_action_is_not_offered_to_plain_staff(staff_client, user):
    response = staff_client.post(
        ADMIN_USERS,
        {
            "action": "replace_address",
            "_selected_action": [str(user.pk)],
            "apply": "1",
            "email": NEW,
            "reason": "asked nicely",
        },
        follow=True,
    )

    assert User.objects.get(pk=user.pk).email == user.email
    assert "replace_address" not in [
        name for name, _ in response.context["action_form"].fields["action"].choices
    ]
