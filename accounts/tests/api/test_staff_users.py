import uuid

import pytest
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import TokenSession, User
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import USERS, api_client_signed_in_as

pytestmark = pytest.mark.django_db


def client_for(user=None):
    return APIClient() if user is None else api_client_signed_in_as(user)


# Permissions matrix -------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", USERS),
        ("post", USERS),
        ("get", f"{USERS}/{uuid.uuid4()}"),
        ("patch", f"{USERS}/{uuid.uuid4()}"),
        ("delete", f"{USERS}/{uuid.uuid4()}"),
    ],
)
@pytest.mark.parametrize(("who", "expected"), [("anonymous", 401), ("user", 403)])
def test_staff_endpoints_refuse_anonymous_and_ordinary_users(
    method, path, who, expected
):
    client = client_for(None if who == "anonymous" else UserFactory())

    response = getattr(client, method)(path, {}, format="json")

    assert response.status_code == expected


def test_unknown_and_malformed_ids_are_404(staff_api_client):
    assert staff_api_client.get(f"{USERS}/{uuid.uuid4()}").status_code == 404
    assert staff_api_client.get(f"{USERS}/not-a-uuid").status_code == 404


# List -----------------------------------------------------------------------
def test_list_shows_staff_fields_newest_first(staff_api_client):
    older = UserFactory(date_joined=timezone.now() - timezone.timedelta(days=2))
    newer = UserFactory(date_joined=timezone.now() - timezone.timedelta(days=1))

    response = staff_api_client.get(USERS)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"next", "previous", "results"}
    ids = [row["id"] for row in body["results"]]
    assert ids.index(str(newer.pk)) < ids.index(str(older.pk))
    assert {"is_staff", "is_superuser", "deleted_at"} <= set(body["results"][0])


def test_list_search_matches_username_email_and_names_ignoring_case(staff_api_client):
    grace = UserFactory(
        username="ghopper", email="grace@navy.example", first_name="Grace"
    )
    UserFactory(username="other")

    for term in ("GHOP", "navy.EXAMPLE", "grace"):
        rows = staff_api_client.get(USERS, {"search": term}).json()["results"]
        assert [row["id"] for row in rows] == [str(grace.pk)], term


def test_list_filters_by_flags(staff_api_client):
    inactive = UserFactory(is_active=False)
    unverified = UserFactory(email_verified=False)

    inactive_rows = staff_api_client.get(USERS, {"is_active": "false"}).json()[
        "results"
    ]
    unverified_rows = staff_api_client.get(USERS, {"email_verified": "false"}).json()[
        "results"
    ]
    staff_rows = staff_api_client.get(USERS, {"is_staff": "true"}).json()["results"]

    assert [r["id"] for r in inactive_rows] == [str(inactive.pk)]
    assert [r["id"] for r in unverified_rows] == [str(unverified.pk)]
    assert all(r["is_staff"] for r in staff_rows) and len(staff_rows) == 1


def test_list_shows_soft_deleted_accounts(staff_api_client):
    gone = UserFactory(is_active=False, deleted_at=timezone.now())

    rows = staff_api_client.get(USERS, {"search": gone.username}).json()["results"]

    assert rows[0]["deleted_at"] is not None


@pytest.mark.parametrize(
    "ordering", ["username", "-username", "email", "-last_login", "last_login"]
)
def test_list_orders_as_asked(staff_api_client, ordering):
    UserFactory(username="bravo", email="b@example.com", last_login=timezone.now())
    UserFactory(username="alpha", email="a@example.com")
    UserFactory(username="charlie", email="c@example.com", last_login=timezone.now())

    rows = staff_api_client.get(USERS, {"ordering": ordering}).json()["results"]

    key = ordering.lstrip("-")
    values = [row[key] or "" for row in rows]
    assert values == sorted(values, reverse=ordering.startswith("-"))


def test_list_cursor_pages_cover_every_account_once(staff_api_client):
    UserFactory.create_batch(12)

    seen, url, params = [], USERS, {"page_size": 5}
    while url:
        body = staff_api_client.get(url, params).json()
        seen += [row["id"] for row in body["results"]]
        url, params = body["next"], None

    assert len(seen) == len(set(seen)) == User.objects.count()


@pytest.mark.parametrize(
    "params",
    [
        {"cursor": "garbage"},
        {"cursor": "cD1ub3RhZGF0ZQ=="},  # base64 of p=notadate
        {"ordering": "password"},
        {"page_size": "201"},
        {"page_size": "0"},
        {"is_active": "maybe"},
        {"unknown": "1"},
    ],
)
def test_list_refuses_bad_query_parameters_with_a_4xx(staff_api_client, params):
    response = staff_api_client.get(USERS, params)

    assert 400 <= response.status_code < 500


# Create -------------------------------------------------------------------
def test_staff_creates_a_user_with_a_password(staff_api_client):
    response = staff_api_client.post(
        USERS,
        {
            "email": "new@example.com",
            "username": "newbie",
            "password": "a strong passphrase",
        },
        format="json",
    )

    assert response.status_code == 201
    assert User.objects.get(username="newbie").check_password("a strong passphrase")
    assert mail.outbox == []


def test_staff_creates_a_user_without_password_who_gets_a_set_password_link(
    staff_api_client,
):
    response = staff_api_client.post(
        USERS, {"email": "new@example.com", "username": "newbie"}, format="json"
    )

    assert response.status_code == 201
    user = User.objects.get(username="newbie")
    assert not user.has_usable_password()
    assert mail.outbox[0].to == ["new@example.com"]
    assert "/accounts/password/reset/" in mail.outbox[0].body


def test_create_refuses_a_duplicate_email(staff_api_client):
    UserFactory(email="taken@example.com")

    response = staff_api_client.post(
        USERS, {"email": "TAKEN@example.com", "username": "x1"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["email"] == ["Email already registered"]


def test_staff_who_is_not_superuser_cannot_create_staff(staff_api_client):
    response = staff_api_client.post(
        USERS,
        {"email": "n@example.com", "username": "n", "is_staff": True},
        format="json",
    )

    assert response.status_code == 403
    assert not User.objects.filter(username="n").exists()


# Detail, update, delete ----------------------------------------------------------
def test_staff_reads_one_account(staff_api_client):
    user = UserFactory()

    response = staff_api_client.get(f"{USERS}/{user.pk}")

    assert response.status_code == 200
    assert response.json()["email"] == user.email


def test_deactivation_revokes_the_users_tokens(staff_api_client):
    user = UserFactory()
    victim = client_for(user)

    response = staff_api_client.patch(
        f"{USERS}/{user.pk}", {"is_active": False}, format="json"
    )

    assert response.status_code == 200
    assert victim.get("/api/v1/users/me").status_code == 401
    user.is_active = True
    user.save()
    assert victim.get("/api/v1/users/me").status_code == 401
    assert not TokenSession.objects.filter(user=user, revoked_at__isnull=True).exists()


def test_staff_who_is_not_superuser_cannot_grant_staff(staff_api_client):
    user = UserFactory()

    response = staff_api_client.patch(
        f"{USERS}/{user.pk}", {"is_staff": True}, format="json"
    )

    assert response.status_code == 403
    user.refresh_from_db()
    assert user.is_staff is False


def test_superuser_grants_staff(superuser_api_client):
    user = UserFactory()

    response = superuser_api_client.patch(
        f"{USERS}/{user.pk}", {"is_staff": True}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["is_staff"] is True


def test_update_refuses_unknown_fields(staff_api_client):
    user = UserFactory()

    response = staff_api_client.patch(
        f"{USERS}/{user.pk}", {"password": "x" * 20}, format="json"
    )

    assert response.status_code == 400
    assert "password" in response.json()


def test_delete_hard_deletes_the_account(staff_api_client):
    user = UserFactory()

    response = staff_api_client.delete(f"{USERS}/{user.pk}")

    assert response.status_code == 204
    assert not User.objects.filter(pk=user.pk).exists()


def test_list_search_with_a_whole_address_finds_exactly_that_account(staff_api_client):
    ada = UserFactory(email="ada@example.com")
    UserFactory(email="xada@example.com")

    rows = staff_api_client.get(USERS, {"search": "ADA@example.com"}).json()["results"]

    assert [row["id"] for row in rows] == [str(ada.pk)]
