import uuid

from django.test import Client
from rest_framework.test import APIClient

from accounts import services
from accounts.assurance import PASSWORD, Assurance
from accounts.models import AuthEvent, TokenSession
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import (
    PROVED,
    add_recovery_codes,
    bearer_client,
    enable_totp,
    messages_of,
    signed_in,
)


def test_security_page_needs_a_signed_in_user(client, db):
    response = client.get("/accounts/security/")

    assert response["Location"] == "/accounts/signin/?next=/accounts/security/"


def test_security_page_lists_recent_events_newest_first(client, user, password):
    client.post("/accounts/signin/", {"username": user.email, "password": password})
    services.change_password(
        user=user,
        old_password=password,
        new_password="a brand new passphrase",
        assurance=Assurance.proved(PASSWORD),
    )
    client.force_login(user)

    response = client.get("/accounts/security/")

    labels = [event.label for event in response.context["events"]]
    assert labels[:2] == ["Password changed", "Signed in"]


def test_security_page_says_through_which_door_each_event_came(client, user, password):
    signed_in(user)
    client.post("/accounts/signin/", {"username": user.email, "password": password})

    response = client.get("/accounts/security/")

    doors = [event.door for event in response.context["events"]]
    assert doors[:2] == ["website", "app"]
    assert "via the app" in response.content.decode()


def test_security_page_lists_at_most_twenty_events_of_this_user_only(
    signed_in_client, user
):
    AuthEvent.objects.bulk_create(
        AuthEvent(user=user, type=AuthEvent.Type.SIGNIN_SUCCEEDED) for _ in range(25)
    )
    AuthEvent.objects.create(user=UserFactory(), type=AuthEvent.Type.SIGNUP)

    response = signed_in_client.get("/accounts/security/")

    events = response.context["events"]
    assert len(events) == 20
    assert {event.user_id for event in events} == {user.pk}


def test_security_page_lists_active_api_sessions_with_a_revoke_button(
    signed_in_client, user, tokens
):
    session = TokenSession.objects.get(user=user)

    response = signed_in_client.get("/accounts/security/")

    assert list(response.context["sessions"]) == [session]
    assert f'action="/accounts/security/sessions/{session.pk}/revoke/"'.encode() in (
        response.content
    )


def test_revoking_a_session_kills_its_refresh_token(signed_in_client, user, tokens):
    session = TokenSession.objects.get(user=user)

    response = signed_in_client.post(
        f"/accounts/security/sessions/{session.pk}/revoke/"
    )

    session.refresh_from_db()
    refreshed = APIClient().post(
        "/api/v1/auth/token/refresh",
        {"refresh_token": tokens["refresh_token"]},
        format="json",
    )
    assert response["Location"] == "/accounts/security/"
    assert session.revoked_at is not None
    assert refreshed.status_code == 401
    assert signed_in_client.get("/accounts/profile/").status_code == 200


def test_revoking_another_users_session_changes_nothing(signed_in_client, db):
    other = UserFactory()
    services.start_api_session(user=other, assurance=PROVED)
    session = TokenSession.objects.get(user=other)

    response = signed_in_client.post(
        f"/accounts/security/sessions/{session.pk}/revoke/"
    )

    session.refresh_from_db()
    assert session.revoked_at is None
    assert messages_of(response) == ["That session had already ended."]


def test_revoking_an_unknown_session_says_it_had_ended(signed_in_client):
    response = signed_in_client.post(
        f"/accounts/security/sessions/{uuid.uuid4()}/revoke/"
    )

    assert response.status_code == 302
    assert messages_of(response) == ["That session had already ended."]


def test_revoke_by_get_is_refused(signed_in_client, user, tokens):
    session = TokenSession.objects.get(user=user)

    response = signed_in_client.get(f"/accounts/security/sessions/{session.pk}/revoke/")

    session.refresh_from_db()
    assert response.status_code == 405
    assert session.revoked_at is None


def test_sign_out_everywhere_revokes_tokens_and_every_browser(
    signed_in_client, user, tokens
):
    elsewhere = Client()
    elsewhere.force_login(user)
    api = bearer_client(tokens["access_token"])

    response = signed_in_client.post("/accounts/security/sign-out-everywhere/")

    assert response["Location"] == "/accounts/signin/"
    assert "_auth_user_id" not in signed_in_client.session
    assert elsewhere.get("/accounts/profile/").status_code == 302
    assert api.get("/api/v1/users/me").status_code == 401
    assert not TokenSession.objects.filter(user=user, revoked_at=None).exists()


def test_security_page_names_devices_in_words(signed_in_client, user):
    services.start_api_session(
        user=user,
        assurance=PROVED,
        client=services.Client(
            ip="203.0.113.7",
            user_agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) "
            "Gecko/20100101 Firefox/128.0",
        ),
    )

    response = signed_in_client.get("/accounts/security/")

    assert b"Firefox on Windows" in response.content
    assert b"203.0.113.7" in response.content


def test_security_page_shows_how_many_recovery_codes_remain(signed_in_client, user):
    enable_totp(user)
    shown = add_recovery_codes(user)
    services.verify_second_factor(user=user, code=shown[0])

    page = signed_in_client.get("/accounts/security/").content.decode()

    assert "<strong>9 of 10</strong> recovery codes unused." in page


def test_security_page_shows_no_recovery_codes_without_a_factor(signed_in_client, user):
    page = signed_in_client.get("/accounts/security/").content.decode()

    assert "recovery codes unused" not in page
