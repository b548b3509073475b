"""The sign-in page (and the admin's login) continue to /accounts/signin/mfa/
for an account with a second factor; the browser is logged in only after a
right code."""

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.test import Client

from accounts import devices
from accounts.assurance import Assurance
from accounts.models import User
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.helpers import (
    SIGNIN_MFA_PAGE,
    SIGNIN_PAGE,
    add_recovery_codes,
    enable_totp,
    field_errors,
    messages_of,
    totp_code,
    wrong_code,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel("2026-06-01 12:00:10Z", tick=False) as traveller:
        yield traveller


@pytest.fixture
def secret(user):
    return enable_totp(user)


def password_step(client, user, next_url=None):
    url = SIGNIN_PAGE + (f"?next={next_url}" if next_url else "")
    data = {"username": user.email, "password": PASSWORD}
    if next_url:
        data["next"] = next_url
    return client.post(url, data)


def test_a_right_password_continues_to_the_second_factor_page_unsigned_in(
    client, user, secret
):
    response = password_step(client, user)

    assert response.status_code == 302
    assert response["Location"] == SIGNIN_MFA_PAGE
    assert SESSION_KEY not in client.session
    assert client.get("/accounts/profile/").status_code == 302
    assert User.objects.get(pk=user.pk).last_login is None
    page = client.get(SIGNIN_MFA_PAGE)
    assert page.status_code == 200
    assert b"Authentication code" in page.content


def test_a_right_code_signs_the_browser_in_at_level_2(client, user, secret):
    password_step(client, user)

    response = client.post(SIGNIN_MFA_PAGE, {"code": totp_code(secret)})

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.session[SESSION_KEY] == str(user.pk)
    kept = Assurance.from_claims(client.session["assurance"])
    assert (kept.amr, kept.aal) == (("pwd", "otp"), 2)
    assert devices.COOKIE_NAME in response.cookies
    assert User.objects.get(pk=user.pk).last_login is not None
    assert client.get("/accounts/profile/").status_code == 200


def test_a_recovery_code_signs_the_browser_in_once(client, user, secret):
    codes = add_recovery_codes(user)
    password_step(client, user)

    client.post(SIGNIN_MFA_PAGE, {"code": codes[0]})
    kept = Assurance.from_claims(client.session["assurance"])
    other = Client()
    password_step(other, user)
    again = other.post(SIGNIN_MFA_PAGE, {"code": codes[0]})

    assert kept.amr == ("pwd", "rc")
    assert again.status_code == 200
    assert field_errors(again, "code") == ["Invalid code"]
    assert SESSION_KEY not in other.session


def test_a_wrong_code_shows_the_error_and_does_not_keep_the_code(client, user, secret):
    password_step(client, user)
    wrong = wrong_code(secret)

    response = client.post(SIGNIN_MFA_PAGE, {"code": wrong})

    assert response.status_code == 200
    assert field_errors(response, "code") == ["Invalid code"]
    assert wrong.encode() not in response.content
    assert SESSION_KEY not in client.session


def test_the_page_keeps_a_safe_next_and_drops_another_sites(client, user, secret):
    safe = password_step(client, user, next_url="/accounts/security/")
    signed_in = client.post(
        safe["Location"], {"code": totp_code(secret), "next": "/accounts/security/"}
    )
    evil = Client()
    password_step(evil, user, next_url="https://evil.example/")
    sent_away = evil.post(
        SIGNIN_MFA_PAGE, {"code": "000000", "next": "https://evil.example/"}
    )

    assert safe["Location"] == SIGNIN_MFA_PAGE + "?next=/accounts/security/"
    assert signed_in["Location"] == "/accounts/security/"
    assert b"evil.example" not in sent_away.content


def test_the_second_factor_page_without_a_pending_sign_in_goes_back_to_sign_in(
    client,
):
    response = client.get(SIGNIN_MFA_PAGE)

    assert response.status_code == 302
    assert response["Location"] == SIGNIN_PAGE


def test_an_expired_pending_sign_in_goes_back_to_sign_in(client, user, secret, clock):
    password_step(client, user)
    clock.shift(301)

    response = client.post(SIGNIN_MFA_PAGE, {"code": totp_code(secret)})

    assert response.status_code == 302
    assert response["Location"] == SIGNIN_PAGE
    assert "Sign in again" in messages_of(response)[0]
    assert SESSION_KEY not in client.session


def test_five_wrong_codes_end_the_pending_sign_in(client, user, secret):
    password_step(client, user)
    for _ in range(5):
        client.post(SIGNIN_MFA_PAGE, {"code": wrong_code(secret)})

    response = client.post(SIGNIN_MFA_PAGE, {"code": totp_code(secret)})

    assert response["Location"] == SIGNIN_PAGE
    assert SESSION_KEY not in client.session


def test_the_account_limit_shows_the_429_page(client, user, secret):
    for _ in range(5):
        browser = Client()
        password_step(browser, user)
        browser.post(SIGNIN_MFA_PAGE, {"code": wrong_code(secret)})

    refused = password_step(client, user)

    assert refused.status_code == 429
    assert "Retry-After" in refused


def test_an_account_without_a_second_factor_signs_in_at_once(client, user):
    response = password_step(client, user)

    assert response["Location"] == "/"
    assert client.session[SESSION_KEY] == str(user.pk)


# The admin's login ----------------------------------------------------------
def test_the_admin_login_goes_through_the_second_factor_into_the_admin(client):
    staff = UserFactory(is_staff=True, is_superuser=True)
    secret = enable_totp(staff)

    first = client.post(
        "/admin/login/?next=/admin/",
        {"username": staff.email, "password": PASSWORD, "next": "/admin/"},
    )
    assert first.status_code == 302
    assert first["Location"] == SIGNIN_MFA_PAGE + "?next=/admin/"
    assert SESSION_KEY not in client.session
    assert client.get("/admin/").status_code == 302

    second = client.post(
        first["Location"], {"code": totp_code(secret), "next": "/admin/"}
    )

    assert second["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    assert Assurance.from_claims(client.session["assurance"]).aal == 2


def test_the_admin_login_refuses_non_staff_before_any_second_factor(client, user):
    enable_totp(user)

    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": user.email, "password": PASSWORD, "next": "/admin/"},
    )

    assert response.status_code == 200
    assert b"no access to the admin" in response.content
    assert SESSION_KEY not in client.session


def test_the_security_page_shows_a_wrong_second_factor(client, user, secret):
    password_step(client, user)
    client.post(SIGNIN_MFA_PAGE, {"code": wrong_code(secret)})
    client.post(SIGNIN_MFA_PAGE, {"code": totp_code(secret)})

    page = client.get("/accounts/security/")

    assert b"Right password, wrong code" in page.content
