"""/accounts/reauthenticate/: the browser session proves a factor again (the
password, or a code for an account with a second factor) and goes back to a
safe `next`."""

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY

from accounts.assurance import Assurance
from accounts.models import AuthEvent
from accounts.tests.factories import PASSWORD
from accounts.tests.helpers import (
    REAUTHENTICATE_PAGE,
    SIGNIN_MFA_PAGE,
    SIGNIN_PAGE,
    enable_totp,
    field_errors,
    totp_code,
    wrong_code,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel("2026-06-01 12:00:10Z", tick=False) as traveller:
        yield traveller


def kept(client) -> Assurance:
    return Assurance.from_claims(client.session["assurance"])


def sign_in_with_password(client, user):
    client.post(SIGNIN_PAGE, {"username": user.email, "password": PASSWORD})


def test_the_password_renews_the_sessions_proof_and_goes_to_next(client, user, clock):
    sign_in_with_password(client, user)
    before = kept(client).auth_time
    clock.shift(600)

    response = client.post(
        REAUTHENTICATE_PAGE + "?next=/accounts/profile/",
        {"password": PASSWORD, "next": "/accounts/profile/"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/accounts/profile/"
    assert kept(client).auth_time == before + 600
    assert AuthEvent.objects.filter(
        user=user, type=AuthEvent.Type.REAUTHENTICATED
    ).exists()


def test_another_sites_next_is_dropped(client, user):
    sign_in_with_password(client, user)

    response = client.post(
        REAUTHENTICATE_PAGE,
        {"password": PASSWORD, "next": "https://evil.example/"},
    )

    assert response["Location"] == "/accounts/security/"


def test_a_wrong_password_is_shown_on_the_password_field(client, user, clock):
    sign_in_with_password(client, user)
    before = kept(client)
    clock.shift(600)

    response = client.post(REAUTHENTICATE_PAGE, {"password": "wrong"})

    assert response.status_code == 200
    assert field_errors(response, "password") == ["Incorrect password"]
    assert kept(client) == before


def test_an_account_with_mfa_is_asked_for_a_code_and_reaches_level_2(
    client, user, clock
):
    secret = enable_totp(user)
    sign_in_with_password(client, user)
    client.post(SIGNIN_MFA_PAGE, {"code": totp_code(secret)})
    clock.shift(600)

    page = client.get(REAUTHENTICATE_PAGE)
    wrong = client.post(REAUTHENTICATE_PAGE, {"code": wrong_code(secret)})
    right = client.post(REAUTHENTICATE_PAGE, {"code": totp_code(secret)})

    assert b"Authentication code" in page.content
    assert b'name="password"' not in page.content
    assert field_errors(wrong, "code") == ["Invalid code"]
    assert right.status_code == 302
    assert kept(client).aal == 2
    assert kept(client).amr == ("pwd", "otp")


def test_five_wrong_answers_sign_the_browser_out(client, user):
    sign_in_with_password(client, user)
    for _ in range(4):
        client.post(REAUTHENTICATE_PAGE, {"password": "wrong"})

    response = client.post(REAUTHENTICATE_PAGE, {"password": "wrong"})

    assert response["Location"] == SIGNIN_PAGE
    assert SESSION_KEY not in client.session


def test_an_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get(REAUTHENTICATE_PAGE)

    assert response.status_code == 302
    assert response["Location"].startswith(SIGNIN_PAGE)
