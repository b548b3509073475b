"""The security page's "Download my data": the same document as the API, as an
attachment, behind a recent sign-in."""

import json

import pytest
import time_machine
from django.test import Client

from accounts.models import AuthEvent
from accounts.tests.helpers import browser_signed_in, stale_by

pytestmark = pytest.mark.django_db

SECURITY_PAGE = "/accounts/security/"
EXPORT_PAGE = "/accounts/security/export/"
START = "2030-01-01 12:00:00Z"


def test_the_security_page_offers_the_download(user):
    client = browser_signed_in(user)

    page = client.get(SECURITY_PAGE).content.decode()

    assert f'action="{EXPORT_PAGE}"' in page
    assert "Download my data" in page


def test_the_download_is_an_uncached_attachment_of_the_document(user, mailoutbox):
    client = browser_signed_in(user)
    mailoutbox.clear()

    response = client.post(EXPORT_PAGE)

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith(
        f'attachment; filename="identity-export-{user.username}-'
    )
    assert "no-store" in response["Cache-Control"]
    document = json.loads(response.content)
    assert document["user"]["email"] == user.email
    assert user.password not in response.content.decode()
    event = AuthEvent.objects.get(user=user, type="export")
    assert event.detail["door"] == "web"
    assert [m.to for m in mailoutbox] == [[user.email]]


def test_a_stale_browser_is_sent_to_reauthenticate(user):
    with time_machine.travel(START, tick=False) as clock:
        client = browser_signed_in(user)
        clock.shift(stale_by())
        response = client.post(EXPORT_PAGE)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/reauthenticate/?next=")
    assert not AuthEvent.objects.filter(user=user, type="export").exists()


def test_coming_back_from_reauthentication_lands_on_the_security_page(user):
    client = browser_signed_in(user)

    response = client.get(EXPORT_PAGE)

    assert response.status_code == 302
    assert response["Location"] == SECURITY_PAGE
    assert not AuthEvent.objects.filter(user=user, type="export").exists()


def test_a_sixth_download_in_an_hour_is_refused(user):
    client = browser_signed_in(user)
    for _ in range(5):
        assert client.post(EXPORT_PAGE).status_code == 200

    response = client.post(EXPORT_PAGE)

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0


def test_the_download_is_refused_without_a_csrf_token(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)

    assert client.post(EXPORT_PAGE).status_code == 403


def test_an_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.post(EXPORT_PAGE)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/signin/")
