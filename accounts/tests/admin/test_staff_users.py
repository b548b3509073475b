"""The staff door: Django's admin for users and the read-only audit trail."""

import pytest
from django.contrib.auth import authenticate
from django.test import Client
from django.utils import timezone

from accounts.models import AuthEvent, User
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import ADMIN_EVENTS, ADMIN_USERS, change_form_data

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a fresh and long passphrase"


def listed_usernames(response) -> set[str]:
    return {user.username for user in response.context["cl"].result_list}


# ---------------------------------------------------------------------------
# Changelist
# ---------------------------------------------------------------------------
def test_user_changelist_lists_every_user(superuser_client, superuser):
    UserFactory(username="ada")

    response = superuser_client.get(ADMIN_USERS)

    assert response.status_code == 200
    assert listed_usernames(response) == {"root", "ada"}


def test_user_changelist_is_refused_to_a_non_staff_user(user):
    client = Client()
    client.force_login(user)

    response = client.get(ADMIN_USERS)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize(
    "query", ["grace", "GRACE@example", "Hopper", "Admiral"], ids=str.lower
)
def test_user_search_finds_by_username_email_or_name(superuser_client, query):
    UserFactory(
        username="grace",
        email="grace@example.com",
        first_name="Admiral",
        last_name="Hopper",
    )
    UserFactory(username="ada", email="ada@example.org")

    response = superuser_client.get(ADMIN_USERS, {"q": query})

    assert response.status_code == 200
    assert listed_usernames(response) == {"grace"}


def test_user_search_without_a_match_lists_nobody(superuser_client):
    UserFactory(username="ada")

    response = superuser_client.get(ADMIN_USERS, {"q": "nobody-by-this-name"})

    assert response.status_code == 200
    assert listed_usernames(response) == set()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"is_active__exact": "0"}, {"dormant"}),
        ({"is_active__exact": "1"}, {"root", "plain", "unverified", "gone"}),
        ({"is_staff__exact": "1"}, {"root"}),
        ({"email_verified__exact": "0"}, {"unverified"}),
        ({"deleted": "yes"}, {"gone"}),
        ({"deleted": "no"}, {"root", "plain", "dormant", "unverified"}),
    ],
    ids=["inactive", "active", "staff", "unverified", "deleted", "not-deleted"],
)
def test_user_list_filters_show_only_matching_users(superuser_client, query, expected):
    UserFactory(username="plain")
    UserFactory(username="dormant", is_active=False)
    UserFactory(username="unverified", email_verified=False)
    UserFactory(username="gone", deleted_at=timezone.now())

    response = superuser_client.get(ADMIN_USERS, query)

    assert response.status_code == 200
    assert listed_usernames(response) == expected


# ---------------------------------------------------------------------------
# Add and change
# ---------------------------------------------------------------------------
def test_add_page_creates_a_user_who_can_sign_in_with_the_password(superuser_client):
    response = superuser_client.post(
        f"{ADMIN_USERS}add/",
        {
            "username": "Grace",
            "email": "Grace@Example.com",
            "usable_password": "true",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )

    created = User.objects.get(username="Grace")
    assert response.status_code == 302
    assert response["Location"] == f"{ADMIN_USERS}{created.pk}/change/"
    assert created.email == "grace@example.com"
    assert authenticate(username="grace@example.com", password=NEW_PASSWORD) == created


def test_add_page_refuses_mismatched_passwords_and_creates_nobody(superuser_client):
    response = superuser_client.post(
        f"{ADMIN_USERS}add/",
        {
            "username": "grace",
            "email": "grace@example.com",
            "usable_password": "true",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD + "!",
        },
    )

    assert response.status_code == 200
    assert "password2" in response.context["adminform"].form.errors
    assert not User.objects.filter(username="grace").exists()


def test_add_page_refuses_an_email_taken_in_another_case(superuser_client):
    UserFactory(username="ada", email="ada@example.com")

    response = superuser_client.post(
        f"{ADMIN_USERS}add/",
        {
            "username": "another",
            "email": "ADA@example.com",
            "usable_password": "true",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert not User.objects.filter(username="another").exists()


@pytest.mark.parametrize(
    ("username", "email"),
    [
        ("\u0430da", "new@example.com"),  # Cyrillic а: looks like "ada"
        ("\u00e4da", "new@example.com"),  # "äda" while "Äda" exists
        ("another", "ada@exam\u00adple.com"),  # soft hyphen in the domain
    ],
    ids=["confusable", "non-ascii-case", "look-alike-domain"],
)
def test_add_page_refuses_look_alike_identifiers_without_an_error_page(
    superuser_client, username, email
):
    UserFactory(username="ada", email="ada@example.com")
    UserFactory(username="\u00c4da", email="other@example.com")

    response = superuser_client.post(
        f"{ADMIN_USERS}add/",
        {
            "username": username,
            "email": email,
            "usable_password": "true",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert User.objects.count() == 3  # the two above and the staff member


def test_add_page_records_who_created_the_account(
    superuser_client, superuser, mailoutbox
):
    superuser_client.post(
        f"{ADMIN_USERS}add/",
        {
            "username": "grace",
            "email": "grace@example.com",
            "usable_password": "true",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )

    created = User.objects.get(username="grace")
    (event,) = AuthEvent.objects.filter(user=created, type=AuthEvent.Type.SIGNUP)
    assert event.detail["created_by"] == str(superuser.pk)
    assert mailoutbox == []


def test_add_page_without_a_password_emails_a_set_password_link(
    superuser_client, mailoutbox
):
    response = superuser_client.post(
        f"{ADMIN_USERS}add/",
        {"username": "grace", "email": "grace@example.com", "usable_password": "false"},
    )

    created = User.objects.get(username="grace")
    assert response.status_code == 302
    assert not created.has_usable_password()
    (message,) = mailoutbox
    assert message.to == ["grace@example.com"]
    assert "/accounts/password/reset/" in message.body


def test_change_page_renders_without_showing_the_password_hash(superuser_client, user):
    response = superuser_client.get(f"{ADMIN_USERS}{user.pk}/change/")

    assert response.status_code == 200
    assert user.username in response.text
    assert user.password not in response.text


def test_change_page_saves_edited_fields(superuser_client, user):
    response = superuser_client.post(
        f"{ADMIN_USERS}{user.pk}/change/",
        change_form_data(user, first_name="Augusta", email_verified=""),
    )

    user.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == ADMIN_USERS
    assert user.first_name == "Augusta"
    assert user.email_verified is False


def test_changing_the_email_starts_a_pending_change_written_to_both_addresses(
    superuser_client, user, mailoutbox
):
    old = user.email
    assert user.email_verified

    superuser_client.post(
        f"{ADMIN_USERS}{user.pk}/change/",
        change_form_data(user, email="new@example.com"),
    )

    user.refresh_from_db()
    assert user.email == old
    assert user.email_verified is True
    assert user.pending_email == "new@example.com"
    assert sorted(m.to[0] for m in mailoutbox) == sorted([old, "new@example.com"])
    assert AuthEvent.objects.filter(
        user=user, type=AuthEvent.Type.EMAIL_CHANGE_REQUESTED
    ).exists()


def test_ticking_verified_with_a_new_address_vouches_for_the_current_one_only(
    superuser_client,
):
    user = UserFactory(email_verified=False)

    superuser_client.post(
        f"{ADMIN_USERS}{user.pk}/change/",
        change_form_data(user, email="new@example.com", email_verified="on"),
    )

    fresh = User.objects.get(pk=user.pk)
    assert fresh.email == user.email
    assert fresh.email_verified is True
    assert fresh.pending_email == "new@example.com"


def test_change_page_refuses_a_username_taken_in_another_case(superuser_client, user):
    UserFactory(username="taken")

    response = superuser_client.post(
        f"{ADMIN_USERS}{user.pk}/change/", change_form_data(user, username="TAKEN")
    )

    old_username = user.username
    user.refresh_from_db()
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert user.username == old_username


def test_deactivating_in_the_admin_ends_tokens_for_good(
    superuser_client, user, auth_api_client
):
    superuser_client.post(
        f"{ADMIN_USERS}{user.pk}/change/", change_form_data(user, is_active="")
    )
    superuser_client.post(f"{ADMIN_USERS}{user.pk}/change/", change_form_data(user))

    user.refresh_from_db()
    assert user.is_active is True
    assert auth_api_client.get("/api/v1/users/me").status_code == 401
    assert {
        AuthEvent.Type.ACCOUNT_DEACTIVATED,
        AuthEvent.Type.ACCOUNT_ACTIVATED,
    } <= set(AuthEvent.objects.filter(user=user).values_list("type", flat=True))


def test_editing_a_name_in_the_admin_leaves_tokens_working(
    superuser_client, user, auth_api_client
):
    superuser_client.post(
        f"{ADMIN_USERS}{user.pk}/change/", change_form_data(user, first_name="Augusta")
    )

    assert auth_api_client.get("/api/v1/users/me").status_code == 200


# ---------------------------------------------------------------------------
# Audit trail
# ---------------------------------------------------------------------------
def test_auth_event_changelist_shows_events_without_an_add_button(
    superuser_client, user
):
    AuthEvent.objects.exclude(user=user).delete()  # the fixture's own sign-in
    AuthEvent.objects.create(user=user, type=AuthEvent.Type.SIGNIN_SUCCEEDED)

    response = superuser_client.get(ADMIN_EVENTS)

    assert response.status_code == 200
    assert [event.user for event in response.context["cl"].result_list] == [user]
    assert response.context["has_add_permission"] is False
    assert f"{ADMIN_EVENTS}add/" not in response.text


def test_auth_event_add_page_is_forbidden(superuser_client):
    before = AuthEvent.objects.count()

    response = superuser_client.post(
        f"{ADMIN_EVENTS}add/", {"type": AuthEvent.Type.SIGNUP, "detail": "{}"}
    )

    assert response.status_code == 403
    assert AuthEvent.objects.count() == before


def test_auth_event_cannot_be_edited(superuser_client, user):
    event = AuthEvent.objects.create(user=user, type=AuthEvent.Type.SIGNUP)

    response = superuser_client.post(
        f"{ADMIN_EVENTS}{event.pk}/change/",
        {"type": AuthEvent.Type.ACCOUNT_DELETED, "user": str(user.pk), "detail": "{}"},
    )

    event.refresh_from_db()
    assert response.status_code == 403
    assert event.type == AuthEvent.Type.SIGNUP


def test_admin_password_change_leads_to_the_account_page(client):
    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)

    response = client.get("/admin/password_change/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/change/"
