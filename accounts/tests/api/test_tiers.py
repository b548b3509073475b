"""Tiers through the JSON door: staff set them by name, the owner sees theirs."""

import pytest
from django.core.exceptions import ValidationError

from accounts.models import Tier, User
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import ME, USERS

pytestmark = pytest.mark.django_db


@pytest.fixture
def gold():
    return Tier.objects.create(name="gold", rate_limit_per_minute=1200)


def test_staff_list_shows_each_accounts_tier_by_name(staff_api_client, gold):
    UserFactory(username="rich", tier=gold)
    UserFactory(username="plain")

    response = staff_api_client.get(USERS)

    assert response.status_code == 200
    tiers = {row["username"]: row["tier"] for row in response.json()["results"]}
    assert tiers["rich"] == "gold"
    assert tiers["plain"] is None


def test_staff_list_reads_tiers_without_a_query_per_account(
    staff_api_client, gold, django_assert_max_num_queries
):
    UserFactory.create_batch(10, tier=gold)

    with django_assert_max_num_queries(5):
        response = staff_api_client.get(USERS)

    assert response.status_code == 200


def test_staff_creates_an_account_in_a_tier(staff_api_client, gold):
    response = staff_api_client.post(
        USERS,
        {"email": "new@example.com", "username": "newbie", "tier": "gold"},
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["tier"] == "gold"
    assert User.objects.get(username="newbie").tier == gold


def test_create_refuses_an_unknown_tier_and_creates_nobody(staff_api_client, gold):
    response = staff_api_client.post(
        USERS,
        {"email": "new@example.com", "username": "newbie", "tier": "platinum"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {"tier": ["Unknown tier."]}
    assert not User.objects.filter(username="newbie").exists()


def test_staff_moves_an_account_to_a_tier(staff_api_client, gold, user):
    response = staff_api_client.patch(
        f"{USERS}/{user.pk}", {"tier": "gold"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["tier"] == "gold"
    user.refresh_from_db()
    assert user.tier == gold
    assert user.api_rate_per_minute == 1200


def test_staff_clears_an_accounts_tier_with_null(staff_api_client, gold):
    member = UserFactory(tier=gold)

    response = staff_api_client.patch(
        f"{USERS}/{member.pk}", {"tier": None}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["tier"] is None
    member.refresh_from_db()
    assert member.tier is None
    assert member.api_rate_per_minute is None


def test_update_refuses_an_unknown_tier_and_keeps_the_old_one(staff_api_client, gold):
    member = UserFactory(tier=gold)

    response = staff_api_client.patch(
        f"{USERS}/{member.pk}", {"tier": "platinum"}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"tier": ["Unknown tier."]}
    member.refresh_from_db()
    assert member.tier == gold


def test_me_shows_the_callers_tier(auth_api_client, user, gold):
    user.tier = gold
    user.save(update_fields=["tier"])

    response = auth_api_client.get(ME)

    assert response.status_code == 200
    assert response.json()["tier"] == "gold"


def test_me_shows_null_without_a_tier(auth_api_client):
    response = auth_api_client.get(ME)

    assert response.status_code == 200
    assert response.json()["tier"] is None


def test_me_patch_answers_with_the_tier(auth_api_client, user, gold):
    user.tier = gold
    user.save(update_fields=["tier"])

    response = auth_api_client.patch(ME, {"first_name": "Augusta"}, format="json")

    assert response.status_code == 200
    assert response.json()["tier"] == "gold"
    assert response.json()["first_name"] == "Augusta"


def test_owner_cannot_change_their_own_tier(auth_api_client, user, gold):
    response = auth_api_client.patch(ME, {"tier": "gold"}, format="json")

    assert response.status_code == 400
    assert "tier" in response.json()
    user.refresh_from_db()
    assert user.tier is None


def test_token_responses_keep_the_contracts_user_object(api_client, user, password):
    response = api_client.post(
        "/api/v1/auth/signin",
        {"email": user.email, "password": password},
        format="json",
    )

    assert response.status_code == 200
    assert set(response.json()["user"]) == {
        "id",
        "username",
        "email",
        "first_name",
        "last_name",
        "email_verified",
        "is_active",
        "date_joined",
        "last_login",
    }


def test_a_tier_rate_must_be_positive():
    tier = Tier(name="frozen", rate_limit_per_minute=0)

    with pytest.raises(ValidationError) as refused:
        tier.full_clean()

    assert "rate_limit_per_minute" in refused.value.message_dict
