"""Email change through the pages: the profile starts it and shows it, the
emailed links open pages with a button that POSTs."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client

from accounts.models import User
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import (
    browser_signed_in,
    email_change_token,
    messages_of,
    signed_in,
    stale_by,
)

pytestmark = pytest.mark.django_db

NEW = "new@example.com"
PROFILE = "/accounts/profile/"


def profile_data(user, **changes):
    data = {
        "username": user.username,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
    }
    return {**data, **changes}


def ask(client, user, email=NEW):
    return client.post(PROFILE, profile_data(user, email=email))


def test_the_profile_shows_the_pending_change_and_withdraws_it(
    signed_in_client, user, mailoutbox
):
    ask(signed_in_client, user)

    page = signed_in_client.get(PROFILE)
    withdrawn = signed_in_client.post("/accounts/email/withdraw/", follow=True)

    assert NEW in page.text
    assert 'action="/accounts/email/withdraw/"' in page.text
    assert withdrawn.status_code == 200
    assert User.objects.get(pk=user.pk).pending_email == ""
    assert NEW not in signed_in_client.get(PROFILE).text


def test_a_stale_browser_changing_the_email_is_sent_to_reauthenticate(
    client, user, mailoutbox
):
    with time_machine.travel("2030-01-01 12:00:00Z", tick=False) as clock:
        browser_signed_in(user, client=client)
        clock.shift(timedelta(seconds=stale_by()))

        response = ask(client, user)

    assert response.status_code == 302
    assert (
        response["Location"]
        == "/accounts/reauthenticate/?next=%2Faccounts%2Fprofile%2F"
    )
    assert User.objects.get(pk=user.pk).pending_email == ""
    assert mailoutbox == []


def test_the_confirm_link_shows_a_button_without_the_token_in_the_url(
    signed_in_client, user, mailoutbox
):
    ask(signed_in_client, user)
    token = email_change_token(mailoutbox, "confirm")
    visitor = Client()

    opened = visitor.get(f"/accounts/email/confirm/{token}/")
    page = visitor.get(opened["Location"])

    assert opened.status_code == 302
    assert token not in opened["Location"]
    assert page.status_code == 200
    assert '<form method="post">' in page.text
    assert token not in page.text
    assert User.objects.get(pk=user.pk).email == user.email  # GET changes nothing


def test_confirming_in_the_owners_browser_keeps_it_and_signs_out_the_rest(
    signed_in_client, user, mailoutbox
):
    other_browser = browser_signed_in(user, client=Client())
    api_client, _ = signed_in(user)
    ask(signed_in_client, user)
    token = email_change_token(mailoutbox, "confirm")
    opened = signed_in_client.get(f"/accounts/email/confirm/{token}/")

    response = signed_in_client.post(opened["Location"])

    assert response.status_code == 302
    assert response["Location"] == PROFILE
    assert User.objects.get(pk=user.pk).email == NEW
    assert signed_in_client.get(PROFILE).status_code == 200
    assert other_browser.get(PROFILE).status_code == 302
    assert api_client.get("/api/v1/users/me").status_code == 401


def test_confirming_in_a_signed_out_browser_asks_to_sign_in_again(
    signed_in_client, user, mailoutbox
):
    ask(signed_in_client, user)
    token = email_change_token(mailoutbox, "confirm")
    visitor = Client()

    response = visitor.post(f"/accounts/email/confirm/{token}/")

    assert response["Location"] == "/accounts/signin/"
    assert "Sign in again" in messages_of(response)[0]
    assert signed_in_client.get(PROFILE).status_code == 302


def test_confirming_an_address_taken_meanwhile_shows_the_error(
    signed_in_client, user, mailoutbox
):
    ask(signed_in_client, user)
    token = email_change_token(mailoutbox, "confirm")
    UserFactory(email=NEW)

    response = Client().post(f"/accounts/email/confirm/{token}/")

    assert response.status_code == 200
    assert "Email already registered" in response.text
    assert User.objects.get(pk=user.pk).email == user.email


def test_the_cancel_link_shows_a_button_and_withdraws_the_change(
    signed_in_client, user, mailoutbox
):
    ask(signed_in_client, user)
    token = email_change_token(mailoutbox, "cancel")
    visitor = Client()
    opened = visitor.get(f"/accounts/email/cancel/{token}/")
    page = visitor.get(opened["Location"])

    response = visitor.post(opened["Location"])

    assert "Cancel the change" in page.text
    assert response.status_code == 302
    assert User.objects.get(pk=user.pk).pending_email == ""


@pytest.mark.parametrize("purpose", ["confirm", "cancel"])
def test_an_invalid_link_shows_the_invalid_link_page(client, db, purpose):
    response = client.get(f"/accounts/email/{purpose}/bogus.token/")

    assert response.status_code == 200
    assert "This link does not work" in response.text


def test_a_used_cancel_link_is_invalid_after_the_change_was_confirmed(
    signed_in_client, user, mailoutbox
):
    ask(signed_in_client, user)
    cancel_token = email_change_token(mailoutbox, "cancel")
    Client().post(
        f"/accounts/email/confirm/{email_change_token(mailoutbox, 'confirm')}/"
    )

    response = Client().post(f"/accounts/email/cancel/{cancel_token}/")

    assert "This link does not work" in response.text
    assert User.objects.get(pk=user.pk).email == NEW
