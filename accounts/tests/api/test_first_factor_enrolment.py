"""A session that MFA_REQUIRED confines enrols the account's first factor with
the app's code AND a code emailed to the account: a stolen password alone
cannot add the thief's authenticator. Once enrolled, the session is free."""

import pytest
from rest_framework.test import APIClient

from accounts.models import Authenticator
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import (
    ENROL_CODE,
    REFRESH,
    TOTP_CONFIRM,
    TOTP_SETUP,
    USERS,
    bearer_client,
    emailed_code,
    sign_in,
    totp_code,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def staff_must_have_mfa(settings):
    settings.MFA_REQUIRED = "staff"


@pytest.fixture
def clerk():
    return UserFactory(is_staff=True, email_verified=True)


def start(clerk):
    tokens = sign_in(clerk)
    client = bearer_client(tokens["access_token"])
    secret = client.post(TOTP_SETUP, format="json").json()["secret"]
    return tokens, client, secret


def test_a_confined_session_cannot_enrol_with_the_apps_code_alone(clerk):
    _, client, secret = start(clerk)

    response = client.post(TOTP_CONFIRM, {"code": totp_code(secret)}, format="json")

    assert response.status_code == 400
    assert "email_code" in response.json()
    assert not Authenticator.objects.filter(user=clerk).exists()


def test_a_wrong_emailed_code_enrols_nothing(clerk, mailoutbox):
    _, client, secret = start(clerk)
    client.post(ENROL_CODE)

    response = client.post(
        TOTP_CONFIRM,
        {"code": totp_code(secret), "email_code": "AAAAAA"},
        format="json",
    )

    assert response.status_code == 400
    assert "email_code" in response.json()
    assert not Authenticator.objects.filter(user=clerk).exists()


def test_the_apps_code_and_the_emailed_code_enrol_and_free_the_session(
    clerk, mailoutbox
):
    tokens, client, secret = start(clerk)
    client.post(ENROL_CODE)
    before = client.get(USERS)

    confirmed = client.post(
        TOTP_CONFIRM,
        {"code": totp_code(secret), "email_code": emailed_code(mailoutbox[-1])},
        format="json",
    )
    refreshed = APIClient().post(
        REFRESH, {"refresh_token": tokens["refresh_token"]}, format="json"
    )
    after = bearer_client(refreshed.json()["access_token"]).get(USERS)

    assert before.status_code == 403
    assert before.json()["code"] == "mfa_setup_required"
    assert confirmed.status_code == 200, confirmed.content
    assert len(confirmed.json()["recovery_codes"]) == 10
    assert after.status_code == 200
