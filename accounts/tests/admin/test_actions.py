"""The staff admin's bulk actions, tiers and the changelist at scale settings."""

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from accounts.admin.paging import EstimatedCountPaginator
from accounts.models import AuthEvent, Tier, TokenSession, User
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.helpers import (
    ADMIN_TIERS,
    ADMIN_USERS,
    admin_action,
    api_client_signed_in_as,
    browser_signed_in,
    shown_messages,
)

pytestmark = pytest.mark.django_db


def events(user, event_type):
    return AuthEvent.objects.filter(user=user, type=event_type)


# ---------------------------------------------------------------------------
# Actions
# ---------------------------------------------------------------------------
def test_activate_action_lets_inactive_accounts_sign_in_again(
    superuser_client, superuser
):
    dormant = UserFactory(is_active=False)

    response = admin_action(superuser_client, "activate", dormant)

    dormant.refresh_from_db()
    assert response.status_code == 200
    assert dormant.is_active is True
    assert authenticate(username=dormant.username, password=PASSWORD) == dormant
    assert events(dormant, AuthEvent.Type.ACCOUNT_ACTIVATED).get().detail == {
        "door": "admin",
        "by": str(superuser.pk),
    }


def test_activate_action_leaves_deleted_accounts_deleted(superuser_client):
    gone = UserFactory(is_active=False, deleted_at=timezone.now())

    response = admin_action(superuser_client, "activate", gone)

    gone.refresh_from_db()
    assert "0 account(s) activated." in shown_messages(response)
    assert gone.is_active is False
    assert not events(gone, AuthEvent.Type.ACCOUNT_ACTIVATED).exists()


def test_deactivate_action_revokes_every_token_of_the_accounts(superuser_client):
    user = UserFactory()
    api = api_client_signed_in_as(user)

    response = admin_action(superuser_client, "deactivate", user)

    user.refresh_from_db()
    assert response.status_code == 200
    assert user.is_active is False
    assert api.get("/api/v1/users/me").status_code == 401
    assert not TokenSession.objects.filter(user=user, revoked_at=None).exists()
    assert events(user, AuthEvent.Type.ACCOUNT_DEACTIVATED).count() == 1


def test_deactivated_accounts_tokens_stay_dead_after_reactivation(superuser_client):
    user = UserFactory()
    api = api_client_signed_in_as(user)
    admin_action(superuser_client, "deactivate", user)

    admin_action(superuser_client, "activate", user)

    assert api.get("/api/v1/users/me").status_code == 401


def test_deactivate_action_skips_staff_accounts_for_staff_who_are_not_superusers(
    staff_client,
):
    colleague = UserFactory(is_staff=True)
    plain = UserFactory()

    response = admin_action(staff_client, "deactivate", colleague, plain)

    colleague.refresh_from_db()
    plain.refresh_from_db()
    assert colleague.is_active is True
    assert plain.is_active is False
    assert any("1 staff account(s) skipped" in m for m in shown_messages(response))


def test_send_password_reset_action_emails_a_reset_link(superuser_client, mailoutbox):
    user = UserFactory()

    admin_action(superuser_client, "send_password_reset", user)

    (message,) = mailoutbox
    assert message.to == [user.email]
    assert "/accounts/password/reset/" in message.body
    assert events(user, AuthEvent.Type.PASSWORD_RESET_REQUESTED).count() == 1


def test_send_password_reset_action_sends_nothing_to_inactive_accounts(
    superuser_client, mailoutbox
):
    dormant = UserFactory(is_active=False)

    admin_action(superuser_client, "send_password_reset", dormant)

    assert mailoutbox == []
    assert not events(dormant, AuthEvent.Type.PASSWORD_RESET_REQUESTED).exists()


def test_revoke_tokens_action_signs_the_account_out_but_keeps_it_active(
    superuser_client,
):
    user = UserFactory()
    api = api_client_signed_in_as(user)

    admin_action(superuser_client, "revoke_tokens", user)

    user.refresh_from_db()
    assert api.get("/api/v1/users/me").status_code == 401
    assert user.is_active is True
    assert api_client_signed_in_as(user).get("/api/v1/users/me").status_code == 200
    assert events(user, AuthEvent.Type.SIGNOUT_ALL).count() == 1


def test_revoke_tokens_action_leaves_other_accounts_signed_in(superuser_client):
    target, bystander = UserFactory(), UserFactory()
    bystander_api = api_client_signed_in_as(bystander)

    admin_action(superuser_client, "revoke_tokens", target)

    assert bystander_api.get("/api/v1/users/me").status_code == 200


def test_mark_email_verified_action_verifies_only_the_selected(superuser_client):
    selected = UserFactory(email_verified=False)
    other = UserFactory(email_verified=False)

    admin_action(superuser_client, "mark_email_verified", selected)

    selected.refresh_from_db()
    other.refresh_from_db()
    assert selected.email_verified is True
    assert other.email_verified is False
    assert events(selected, AuthEvent.Type.EMAIL_VERIFIED).count() == 1


def test_restore_action_brings_back_a_deleted_account(superuser_client):
    gone = UserFactory(is_active=False, deleted_at=timezone.now())

    response = admin_action(superuser_client, "restore", gone)

    gone.refresh_from_db()
    assert "1 account(s) restored." in shown_messages(response)
    assert gone.deleted_at is None
    assert gone.is_active is True
    assert authenticate(username=gone.email, password=PASSWORD) == gone
    assert events(gone, AuthEvent.Type.ACCOUNT_RESTORED).count() == 1


def test_restore_action_leaves_live_accounts_alone(superuser_client):
    live = UserFactory()

    response = admin_action(superuser_client, "restore", live)

    assert "0 account(s) restored." in shown_messages(response)
    assert not events(live, AuthEvent.Type.ACCOUNT_RESTORED).exists()


def test_actions_are_refused_to_staff_without_the_change_permission():
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.set(Permission.objects.filter(codename="view_user"))
    client = Client()
    client.force_login(viewer)
    dormant = UserFactory(is_active=False)

    admin_action(client, "activate", dormant)

    dormant.refresh_from_db()
    assert dormant.is_active is False


def test_change_form_deactivation_revokes_tokens(superuser_client):
    user = UserFactory()
    api = api_client_signed_in_as(user)

    response = superuser_client.post(
        f"{ADMIN_USERS}{user.pk}/change/",
        {
            "username": user.username,
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "email_verified": "on",
        },
    )

    user.refresh_from_db()
    assert response.status_code == 302
    assert user.is_active is False
    assert api.get("/api/v1/users/me").status_code == 401


# ---------------------------------------------------------------------------
# Privileges
# ---------------------------------------------------------------------------
def test_staff_who_are_not_superusers_cannot_grant_staff_or_superuser_rights(
    staff_client,
):
    plain = UserFactory()

    response = staff_client.post(
        f"{ADMIN_USERS}{plain.pk}/change/",
        {
            "username": plain.username,
            "email": plain.email,
            "is_active": "on",
            "is_staff": "on",
            "is_superuser": "on",
        },
    )

    plain.refresh_from_db()
    assert response.status_code == 302
    assert plain.is_staff is False
    assert plain.is_superuser is False


# ---------------------------------------------------------------------------
# Changelist and tiers
# ---------------------------------------------------------------------------
def test_changelist_with_search_renders_the_match(superuser_client):
    UserFactory(username="grace", email="grace@navy.example")
    UserFactory(username="ada")

    response = superuser_client.get(ADMIN_USERS, {"q": "navy"})

    assert response.status_code == 200
    assert [u.username for u in response.context["cl"].result_list] == ["grace"]
    assert response.context["cl"].result_count == 1


def test_changelist_filtered_by_deleted_renders(superuser_client):
    UserFactory(username="gone", deleted_at=timezone.now(), is_active=False)

    response = superuser_client.get(ADMIN_USERS, {"deleted": "yes"})

    assert response.status_code == 200
    assert [u.username for u in response.context["cl"].result_list] == ["gone"]


def test_changelist_shows_and_filters_by_tier(superuser_client):
    gold = Tier.objects.create(name="gold", rate_limit_per_minute=1200)
    UserFactory(username="rich", tier=gold)
    UserFactory(username="plain")

    response = superuser_client.get(ADMIN_USERS, {"tier__id__exact": str(gold.pk)})

    assert response.status_code == 200
    assert [u.username for u in response.context["cl"].result_list] == ["rich"]
    assert "gold" in response.text


def test_change_form_sets_the_tier(superuser_client, user):
    gold = Tier.objects.create(name="gold", rate_limit_per_minute=1200)

    response = superuser_client.post(
        f"{ADMIN_USERS}{user.pk}/change/",
        {
            "username": user.username,
            "email": user.email,
            "is_active": "on",
            "email_verified": "on",
            "tier": str(gold.pk),
        },
    )

    user.refresh_from_db()
    assert response.status_code == 302
    assert user.tier == gold
    assert user.api_rate_per_minute == 1200


def test_tier_admin_creates_a_tier(superuser_client):
    response = superuser_client.post(
        f"{ADMIN_TIERS}add/", {"name": "silver", "rate_limit_per_minute": "300"}
    )

    assert response.status_code == 302
    assert Tier.objects.get(name="silver").rate_limit_per_minute == 300


def test_tier_admin_refuses_a_zero_rate(superuser_client):
    response = superuser_client.post(
        f"{ADMIN_TIERS}add/", {"name": "frozen", "rate_limit_per_minute": "0"}
    )

    assert response.status_code == 200
    assert "rate_limit_per_minute" in response.context["adminform"].form.errors
    assert not Tier.objects.filter(name="frozen").exists()


def test_paginator_caps_the_count_of_a_filtered_list(monkeypatch):
    monkeypatch.setattr(EstimatedCountPaginator, "COUNT_CAP", 3)
    UserFactory.create_batch(5, is_active=False)

    paginator = EstimatedCountPaginator(
        User.objects.filter(is_active=False).order_by("-date_joined"), 2
    )

    assert paginator.count == 3


def test_paginator_counts_a_small_table_exactly():
    UserFactory.create_batch(4)

    paginator = EstimatedCountPaginator(User.objects.order_by("-date_joined"), 2)

    assert paginator.count == 4


def test_superusers_grant_staff_rights_in_the_change_form(superuser_client):
    plain = UserFactory()

    response = superuser_client.post(
        f"{ADMIN_USERS}{plain.pk}/change/",
        {
            "username": plain.username,
            "email": plain.email,
            "is_active": "on",
            "is_staff": "on",
        },
    )

    plain.refresh_from_db()
    assert response.status_code == 302
    assert plain.is_staff is True


def test_restore_is_refused_when_the_email_was_taken_since(client):
    admin_user = UserFactory(is_staff=True, is_superuser=True)
    gone = UserFactory(
        email="ada@example.com", deleted_at=timezone.now(), is_active=False
    )
    UserFactory(email="ada@example.com", username="newada")
    browser_signed_in(admin_user, client=client, admin=True)

    response = client.post(
        "/admin/accounts/user/",
        {"action": "restore", "_selected_action": [str(gone.pk)]},
        follow=True,
    )

    assert response.status_code == 200
    gone.refresh_from_db()
    assert gone.deleted_at is not None
    assert "Email already registered" in response.content.decode()
