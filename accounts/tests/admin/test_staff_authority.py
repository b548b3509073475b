"""Who may manage whom through the admin: the same rule as the staff API, for the
change form, every action, bulk and single delete, the password page, and the
rights (groups, permissions) whose edits are audited."""

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import Group, Permission
from django.utils import timezone

from accounts.models import AuthEvent, TokenSession, User
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.helpers import (
    ADMIN_GROUPS,
    ADMIN_USERS,
    admin_action,
    api_client_signed_in_as,
    shown_messages,
    stored_fields,
)

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a fresh and long passphrase"


def protected_target(kind, superuser, staff, **state):
    """An account in staff scope, in the state an action would change."""
    if kind == "superuser":
        User.objects.filter(pk=superuser.pk).update(**state)
        return User.objects.get(pk=superuser.pk)
    if kind == "itself":
        User.objects.filter(pk=staff.pk).update(**state)
        return User.objects.get(pk=staff.pk)
    return UserFactory(is_staff=True, **state)


# ---------------------------------------------------------------------------
# Change form
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["superuser", "other staff", "itself"])
def test_plain_staff_see_a_staff_scope_change_form_read_only(
    staff_client, superuser, staff, kind
):
    target = protected_target(kind, superuser, staff)

    response = staff_client.get(f"{ADMIN_USERS}{target.pk}/change/")

    assert response.status_code == 200
    assert response.context["has_change_permission"] is False
    assert response.context["has_delete_permission"] is False


@pytest.mark.parametrize("kind", ["superuser", "other staff", "itself"])
def test_plain_staff_cannot_save_a_staff_scope_change_form(
    staff_client, superuser, staff, kind
):
    target = protected_target(kind, superuser, staff)
    before = stored_fields(target)

    response = staff_client.post(
        f"{ADMIN_USERS}{target.pk}/change/",
        {
            "username": "renamed",
            "email": "taken-over@attacker.example",
            "is_active": "on",
        },
    )

    assert response.status_code == 403
    assert stored_fields(target) == before


def test_plain_staff_still_edit_ordinary_accounts(staff_client):
    plain = UserFactory()

    response = staff_client.post(
        f"{ADMIN_USERS}{plain.pk}/change/",
        {"username": plain.username, "email": plain.email, "first_name": "Grace"},
    )

    assert response.status_code == 302
    assert User.objects.get(pk=plain.pk).first_name == "Grace"


# ---------------------------------------------------------------------------
# Actions
# ---------------------------------------------------------------------------
ACTIONS = {
    "activate": {"is_active": False},
    "deactivate": {},
    "send_password_reset": {},
    "revoke_tokens": {},
    "mark_email_verified": {"email_verified": False},
    "restore": {"is_active": False, "deleted_at": timezone.now()},
}


# An inactive or deleted actor cannot use the admin at all, so "itself" pairs
# only with the actions that need no such state.
ACTION_TARGETS = [
    (kind, action)
    for action, state in ACTIONS.items()
    for kind in ("superuser", "other staff", "itself")
    if kind != "itself" or state.get("is_active", True)
]


@pytest.mark.parametrize(("kind", "action"), ACTION_TARGETS)
def test_every_action_skips_staff_scope_accounts_for_plain_staff(
    staff_client, superuser, staff, kind, action, mailoutbox
):
    target = protected_target(kind, superuser, staff, **ACTIONS[action])
    TokenSession.objects.create(
        user=target, refresh_jti="j", expires_at=timezone.now() + timezone.timedelta(1)
    )
    before = stored_fields(target)
    events_before = list(AuthEvent.objects.filter(user=target))

    response = admin_action(staff_client, action, target)

    assert stored_fields(target) == before
    assert TokenSession.objects.get(user=target).revoked_at is None
    assert mailoutbox == []
    assert list(AuthEvent.objects.filter(user=target)) == events_before
    assert any("1 staff account(s) skipped" in m for m in shown_messages(response))


@pytest.mark.parametrize("action", ACTIONS)
def test_superusers_act_on_other_staff(superuser_client, action):
    colleague = UserFactory(is_staff=True, **ACTIONS[action])

    response = admin_action(superuser_client, action, colleague)

    assert not any("skipped" in m for m in shown_messages(response))
    assert AuthEvent.objects.filter(user=colleague).exists()


# ---------------------------------------------------------------------------
# Deleting
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["superuser", "other staff", "itself"])
def test_bulk_delete_with_a_staff_scope_account_is_refused_to_plain_staff(
    staff_client, superuser, staff, kind
):
    target = protected_target(kind, superuser, staff)
    plain = UserFactory()

    confirm = admin_action(staff_client, "delete_selected", target, plain)
    forced = admin_action(staff_client, "delete_selected", target, plain, post="yes")

    assert confirm.context["perms_lacking"]
    assert forced.status_code == 403
    assert User.objects.filter(pk__in=[target.pk, plain.pk]).count() == 2


def test_bulk_delete_including_oneself_is_refused_to_superusers(
    superuser_client, superuser
):
    plain = UserFactory()

    response = admin_action(
        superuser_client, "delete_selected", superuser, plain, post="yes"
    )

    assert response.status_code == 403
    assert User.objects.filter(pk__in=[superuser.pk, plain.pk]).count() == 2


def test_superusers_bulk_delete_staff_accounts(superuser_client):
    colleague, plain = UserFactory(is_staff=True), UserFactory()

    admin_action(superuser_client, "delete_selected", colleague, plain, post="yes")

    assert not User.objects.filter(pk__in=[colleague.pk, plain.pk]).exists()


def test_plain_staff_bulk_delete_ordinary_accounts(staff_client):
    plain = UserFactory()

    admin_action(staff_client, "delete_selected", plain, post="yes")

    assert not User.objects.filter(pk=plain.pk).exists()


@pytest.mark.parametrize("kind", ["superuser", "other staff", "itself"])
def test_delete_page_of_a_staff_scope_account_is_refused_to_plain_staff(
    staff_client, superuser, staff, kind
):
    target = protected_target(kind, superuser, staff)

    response = staff_client.post(f"{ADMIN_USERS}{target.pk}/delete/", {"post": "yes"})

    assert response.status_code == 403
    assert User.objects.filter(pk=target.pk).exists()


def test_superusers_cannot_delete_themselves_on_the_delete_page(
    superuser_client, superuser
):
    response = superuser_client.post(
        f"{ADMIN_USERS}{superuser.pk}/delete/", {"post": "yes"}
    )

    assert response.status_code == 403
    assert User.objects.filter(pk=superuser.pk).exists()


# ---------------------------------------------------------------------------
# Passwords: staff send reset links, never choose a password
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["get", "post"])
def test_the_set_password_page_for_another_account_is_gone(superuser_client, method):
    plain = UserFactory()

    response = getattr(superuser_client, method)(
        f"{ADMIN_USERS}{plain.pk}/password/",
        {
            "usable_password": "true",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )

    assert response.status_code == 404
    assert authenticate(username=plain.username, password=PASSWORD) == plain
    assert not AuthEvent.objects.filter(user=plain).exists()


def test_the_change_form_offers_no_set_password_button(superuser_client):
    plain = UserFactory()

    response = superuser_client.get(f"{ADMIN_USERS}{plain.pk}/change/")

    assert response.status_code == 200
    assert "../password/" not in response.text
    assert "password reset link" in response.text


def test_a_staff_members_own_password_page_leads_to_the_account_page(
    staff_client, staff
):
    response = staff_client.get(f"{ADMIN_USERS}{staff.pk}/password/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/change/"


# ---------------------------------------------------------------------------
# Rights: only superusers grant them, and every grant is audited
# ---------------------------------------------------------------------------
def change_form(user, **changes):
    data = {
        "username": user.username,
        "email": user.email,
        "is_active": "on",
        "email_verified": "on",
    }
    data.update(changes)
    return data


def test_group_and_permission_edits_are_audited_with_the_actor(
    superuser_client, superuser
):
    plain = UserFactory()
    editors = Group.objects.create(name="editors")
    delete_user = Permission.objects.get(codename="delete_user")

    response = superuser_client.post(
        f"{ADMIN_USERS}{plain.pk}/change/",
        change_form(plain, groups=[editors.pk], user_permissions=[delete_user.pk]),
    )

    assert response.status_code == 302
    assert list(plain.groups.all()) == [editors]
    assert list(plain.user_permissions.all()) == [delete_user]
    (event,) = AuthEvent.objects.filter(
        user=plain, type=AuthEvent.Type.PERMISSIONS_CHANGED
    )
    assert event.detail == {
        "door": "admin",
        "by": str(superuser.pk),
        "granted": ["group:editors", "permission:accounts.delete_user"],
        "revoked": [],
    }


def test_removing_a_group_is_audited(superuser_client, superuser):
    plain = UserFactory()
    editors = Group.objects.create(name="editors")
    plain.groups.add(editors)

    superuser_client.post(f"{ADMIN_USERS}{plain.pk}/change/", change_form(plain))

    assert not plain.groups.exists()
    (event,) = AuthEvent.objects.filter(
        user=plain, type=AuthEvent.Type.PERMISSIONS_CHANGED
    )
    assert event.detail["revoked"] == ["group:editors"]


def test_saving_a_form_without_rights_changes_records_no_rights_event(superuser_client):
    plain = UserFactory()

    superuser_client.post(
        f"{ADMIN_USERS}{plain.pk}/change/", change_form(plain, first_name="X")
    )

    assert not AuthEvent.objects.filter(
        type=AuthEvent.Type.PERMISSIONS_CHANGED
    ).exists()


def test_editing_a_groups_permissions_is_audited(superuser_client, superuser):
    editors = Group.objects.create(name="editors")
    delete_user = Permission.objects.get(codename="delete_user")

    response = superuser_client.post(
        f"{ADMIN_GROUPS}{editors.pk}/change/",
        {"name": "editors", "permissions": [delete_user.pk]},
    )

    assert response.status_code == 302
    assert list(editors.permissions.all()) == [delete_user]
    (event,) = AuthEvent.objects.filter(type=AuthEvent.Type.GROUP_CHANGED)
    assert event.user is None
    assert event.detail == {
        "door": "admin",
        "by": str(superuser.pk),
        "group": "editors",
        "granted": ["permission:accounts.delete_user"],
        "revoked": [],
    }


def test_plain_staff_cannot_edit_groups_even_with_the_permission(staff_client, staff):
    editors = Group.objects.create(name="editors")
    staff.groups.add(editors)
    delete_user = Permission.objects.get(codename="delete_user")

    response = staff_client.post(
        f"{ADMIN_GROUPS}{editors.pk}/change/",
        {"name": "editors", "permissions": [delete_user.pk]},
    )

    assert response.status_code == 403
    assert not editors.permissions.exists()


def test_staff_signing_out_a_plain_account_still_works(staff_client):
    plain = UserFactory()
    api = api_client_signed_in_as(plain)

    admin_action(staff_client, "revoke_tokens", plain)

    assert api.get("/api/v1/users/me").status_code == 401
