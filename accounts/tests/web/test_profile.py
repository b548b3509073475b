from accounts.models import AuthEvent
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import field_errors, messages_of


def profile_data(user, **changes):
    return {
        "username": user.username,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        **changes,
    }


def test_profile_page_shows_the_users_details_in_the_form(signed_in_client, user):
    response = signed_in_client.get("/accounts/profile/")

    html = response.content.decode()
    assert response.status_code == 200
    assert f'value="{user.username}"' in html
    assert f'value="{user.email}"' in html
    assert 'autocomplete="given-name"' in html
    assert response["Cache-Control"].startswith("max-age=0")


def test_profile_page_needs_a_signed_in_user(client, db):
    response = client.get("/accounts/profile/")

    assert response["Location"] == "/accounts/signin/?next=/accounts/profile/"


def test_profile_saves_a_new_name(signed_in_client, user):
    response = signed_in_client.post(
        "/accounts/profile/", profile_data(user, first_name="Augusta")
    )

    user.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == "/accounts/profile/"
    assert user.first_name == "Augusta"
    assert user.email_verified
    assert messages_of(response) == ["Profile saved."]


def test_profile_email_change_stays_pending_until_the_new_address_confirms(
    signed_in_client, user, mailoutbox
):
    old_email = user.email

    response = signed_in_client.post(
        "/accounts/profile/", profile_data(user, email="new@example.com")
    )

    user.refresh_from_db()
    assert response.status_code == 302
    assert user.email == old_email
    assert user.email_verified
    assert user.pending_email == "new@example.com"
    assert sorted(m.to[0] for m in mailoutbox) == sorted(["new@example.com", old_email])
    assert "new@example.com" in messages_of(response)[0]


def test_profile_with_a_taken_email_answers_as_for_any_address(
    signed_in_client, user, mailoutbox
):
    other = UserFactory()

    response = signed_in_client.post(
        "/accounts/profile/",
        profile_data(user, email=other.email, first_name="Augusta"),
    )

    fresh = type(user).objects.get(pk=user.pk)
    assert response.status_code == 302
    assert fresh.email == user.email
    assert fresh.first_name == "Augusta"
    assert fresh.pending_email == other.email
    (taken_notice,) = [m for m in mailoutbox if m.to == [other.email]]
    assert "already belongs to another" in taken_notice.body


def test_profile_refused_change_does_not_show_in_the_page_header(
    signed_in_client, user
):
    other = UserFactory()

    response = signed_in_client.post(
        "/accounts/profile/", profile_data(user, username=other.username)
    )

    assert field_errors(response, "username") == ["Username already taken"]
    assert response.context["user"].username == user.username


def test_profile_without_changes_records_nothing(signed_in_client, user):
    signed_in_client.post("/accounts/profile/", profile_data(user))

    assert not AuthEvent.objects.filter(
        user=user, type=AuthEvent.Type.PROFILE_UPDATED
    ).exists()


def test_profile_of_an_unverified_user_offers_to_send_the_link_again(client, db):
    client.force_login(UserFactory(email_verified=False))

    response = client.get("/accounts/profile/")

    assert b'action="/accounts/verify-email/resend/"' in response.content
