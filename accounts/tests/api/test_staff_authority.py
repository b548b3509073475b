"""Who may manage whom through the staff API: staff who are not superusers act
only on accounts outside staff scope; superusers act on anyone; nobody
hard-deletes themself."""

import pytest

from accounts.models import AuthEvent, User
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import USERS, api_client_signed_in_as, stored_fields

pytestmark = pytest.mark.django_db


# Every field a staff PATCH may carry, with a value that differs from the
# factory's, so a refused request that changed anything shows up.
PATCHES = [
    {"email": "taken-over@attacker.example"},
    {"username": "renamed"},
    {"first_name": "Mallory"},
    {"is_active": False},
    {"email_verified": False},
    {"tier": None},
]


@pytest.mark.parametrize("changes", PATCHES)
@pytest.mark.parametrize("target", ["superuser", "other staff", "itself"])
def test_staff_who_are_not_superusers_cannot_patch_staff_scope_accounts(
    staff, superuser, target, changes
):
    victim = {
        "superuser": superuser,
        "other staff": UserFactory(is_staff=True),
        "itself": staff,
    }[target]
    api = api_client_signed_in_as(staff)
    before = stored_fields(victim)

    response = api.patch(f"{USERS}/{victim.pk}", changes, format="json")

    assert response.status_code == 403
    assert set(response.json()) == {"detail"}
    assert stored_fields(victim) == before


@pytest.mark.parametrize("target", ["superuser", "other staff", "itself"])
def test_staff_who_are_not_superusers_cannot_delete_staff_scope_accounts(
    staff, superuser, target
):
    victim = {
        "superuser": superuser,
        "other staff": UserFactory(is_staff=True),
        "itself": staff,
    }[target]

    response = api_client_signed_in_as(staff).delete(f"{USERS}/{victim.pk}")

    assert response.status_code == 403
    assert set(response.json()) == {"detail"}
    assert User.objects.filter(pk=victim.pk).exists()


def test_staff_still_manage_ordinary_accounts(staff):
    plain = UserFactory()

    response = api_client_signed_in_as(staff).patch(
        f"{USERS}/{plain.pk}", {"first_name": "Grace"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["first_name"] == "Grace"


def test_superusers_manage_other_superusers_and_staff(superuser):
    other_root = UserFactory(is_staff=True, is_superuser=True)
    colleague = UserFactory(is_staff=True)
    api = api_client_signed_in_as(superuser)

    renamed = api.patch(
        f"{USERS}/{other_root.pk}", {"first_name": "Grace"}, format="json"
    )
    deleted = api.delete(f"{USERS}/{colleague.pk}")

    assert renamed.status_code == 200
    assert User.objects.get(pk=other_root.pk).first_name == "Grace"
    assert deleted.status_code == 204
    assert not User.objects.filter(pk=colleague.pk).exists()


def test_superusers_cannot_hard_delete_themselves(superuser):
    response = api_client_signed_in_as(superuser).delete(f"{USERS}/{superuser.pk}")

    assert response.status_code == 403
    assert User.objects.filter(pk=superuser.pk).exists()


def test_staff_cannot_take_over_a_superuser_by_email_then_forgot_password(
    staff, superuser, mailoutbox
):
    attacker_mailbox = "clerk-owns-this@attacker.example"

    patched = api_client_signed_in_as(staff).patch(
        f"{USERS}/{superuser.pk}", {"email": attacker_mailbox}, format="json"
    )
    forgot = api_client_signed_in_as(staff).post(
        "/api/v1/auth/forgot-password", {"email": attacker_mailbox}, format="json"
    )

    assert patched.status_code == 403
    assert forgot.status_code == 200
    assert [m for m in mailoutbox if attacker_mailbox in m.to] == []
    assert User.objects.get(pk=superuser.pk).email == superuser.email


def test_a_superuser_granting_superuser_rights_is_audited(superuser):
    plain = UserFactory()

    response = api_client_signed_in_as(superuser).patch(
        f"{USERS}/{plain.pk}", {"is_staff": True, "is_superuser": True}, format="json"
    )

    assert response.status_code == 200
    (event,) = AuthEvent.objects.filter(
        user=plain, type=AuthEvent.Type.PERMISSIONS_CHANGED
    )
    assert event.detail["by"] == str(superuser.pk)
    assert event.detail["granted"] == ["is_staff", "is_superuser"]
