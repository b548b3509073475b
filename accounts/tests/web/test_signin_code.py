"""The page /accounts/signin/code/: a browser signs in with only a code
emailed to its address, or continues to the second-factor page."""

import pytest
from django.contrib.auth import SESSION_KEY

from accounts.models import User
from accounts.request_assurance import assurance_of
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import (
    SIGNIN_MFA_PAGE,
    SIGNIN_PAGE,
    emailed_code,
    enable_totp,
    shown_messages,
)

pytestmark = pytest.mark.django_db

PAGE = "/accounts/signin/code/"


def ask(client, email):
    return client.post(PAGE, {"email": email}, follow=True)


def test_sign_in_page_links_to_the_code_page(client):
    assert b'href="/accounts/signin/code/"' in client.get(SIGNIN_PAGE).content


def test_emailed_code_signs_the_browser_in_with_amr_email(client, user, mailoutbox):
    page = ask(client, user.email)
    assert "If an account uses this address, a code is on its way to it." in (
        shown_messages(page)
    )
    code = emailed_code(mailoutbox[-1])
    # The code_token stays in the server-side session, never in the page.
    assert code.encode() not in page.content

    response = client.post(PAGE, {"code": code.lower()})

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.session[SESSION_KEY] == str(user.pk)
    request = client.get("/").wsgi_request
    assert assurance_of(request).amr == ("email",)
    assert User.objects.get(pk=user.pk).last_login is not None


def test_unknown_address_gets_the_same_page(client, mailoutbox):
    UserFactory()
    page = ask(client, "nobody@example.com")

    assert page.status_code == 200
    assert "If an account uses this address, a code is on its way to it." in (
        shown_messages(page)
    )
    assert b'name="code"' in page.content
    assert mailoutbox == []


def test_wrong_code_is_shown_and_nobody_is_signed_in(client, user, mailoutbox):
    ask(client, user.email)

    response = client.post(PAGE, {"code": "AAAAAA"})

    assert response.status_code == 200
    assert b"Invalid or expired code" in response.content
    assert SESSION_KEY not in client.session


def test_account_with_a_second_factor_continues_to_the_second_factor_page(
    client, user, mailoutbox
):
    enable_totp(user)
    ask(client, user.email)

    response = client.post(PAGE, {"code": emailed_code(mailoutbox[-1])})

    assert response.status_code == 302
    assert response["Location"] == SIGNIN_MFA_PAGE
    assert SESSION_KEY not in client.session


def test_page_is_absent_when_signin_by_code_is_off(client, settings):
    settings.SIGNIN_BY_CODE = False

    assert client.get(PAGE).status_code == 404
    assert b"/accounts/signin/code/" not in client.get(SIGNIN_PAGE).content
