"""Access tokens say how and when their session proved who is behind it
(auth_time, amr, aal); refresh copies that from the session, never renews it."""

import time

import jwt
import pytest
import time_machine

from accounts.assurance import Assurance
from accounts.models import TokenSession
from accounts.tests.factories import PASSWORD
from accounts.tests.helpers import CHANGE, REFRESH, SIGNUP, bearer_client, sign_in

pytestmark = pytest.mark.django_db


def claims(access_token: str) -> dict:
    return jwt.decode(access_token, options={"verify_signature": False})


def test_password_sign_in_tokens_carry_auth_time_amr_and_aal(user):
    before = int(time.time())

    access = claims(sign_in(user)["access_token"])

    assert access["amr"] == ["pwd"]
    assert access["aal"] == 1
    assert isinstance(access["auth_time"], int)
    assert before <= access["auth_time"] <= int(time.time())


def test_sign_up_tokens_carry_a_password_proof(api_client):
    response = api_client.post(
        SIGNUP,
        {"email": "ada@example.com", "username": "ada", "password": PASSWORD},
        format="json",
    )

    access = claims(response.json()["access_token"])
    assert access["amr"] == ["pwd"]
    assert access["aal"] == 1


def test_refresh_copies_the_sessions_auth_time_and_never_renews_it(api_client, user):
    with time_machine.travel("2030-01-01 12:00:00Z", tick=False):
        first = sign_in(user)
    with time_machine.travel("2030-01-01 12:10:00Z", tick=False):
        refreshed = api_client.post(
            REFRESH, {"refresh_token": first["refresh_token"]}, format="json"
        ).json()

    assert (
        claims(refreshed["access_token"])["auth_time"]
        == claims(first["access_token"])["auth_time"]
    )
    assert claims(refreshed["access_token"])["amr"] == ["pwd"]


def test_the_session_row_records_what_the_sign_in_proved(user):
    tokens = sign_in(user)

    session = TokenSession.objects.get(pk=claims(tokens["access_token"])["sid"])

    assert session.amr == ["pwd"]
    assert session.aal == 1
    assert (
        int(session.auth_time.timestamp())
        == claims(tokens["access_token"])["auth_time"]
    )


def test_change_password_keeps_the_sessions_proof_in_the_new_tokens(user):
    with time_machine.travel("2030-01-01 12:00:00Z", tick=False):
        tokens = sign_in(user)
    with time_machine.travel("2030-01-01 12:03:00Z", tick=False):
        changed = bearer_client(tokens["access_token"]).post(
            CHANGE,
            {"old_password": PASSWORD, "new_password": "another long phrase 42!"},
            format="json",
        )

    assert changed.status_code == 200, changed.content
    assert (
        claims(changed.json()["access_token"])["auth_time"]
        == claims(tokens["access_token"])["auth_time"]
    )


def test_a_browser_sign_in_keeps_its_proof_in_the_session(client, user):
    client.post("/accounts/signin/", {"username": user.username, "password": PASSWORD})

    kept = Assurance.from_claims(client.session["assurance"])

    assert kept.amr == ("pwd",)
    assert kept.aal == 1
    assert abs(kept.auth_time - time.time()) < 60


def test_proving_more_methods_lists_each_once_in_order_and_raises_the_level():
    proved = Assurance.proved("pwd").then("otp").then("pwd", "rc")

    assert proved.amr == ("pwd", "otp", "rc")
    assert proved.aal == 2


@pytest.mark.parametrize(
    ("age", "has_mfa", "aal", "recent"),
    [
        (299, False, 1, True),
        (300, False, 1, True),
        (301, False, 1, False),
        (10, True, 1, False),
        (10, True, 2, True),
        (301, True, 2, False),
    ],
)
def test_a_recent_sign_in_is_within_the_window_and_at_the_accounts_level(
    settings, age, has_mfa, aal, recent
):
    settings.REAUTH_WINDOW = 300
    assurance = Assurance(auth_time=1_000_000, amr=("pwd",), aal=aal)

    assert assurance.is_recent(has_mfa=has_mfa, now=1_000_000 + age) is recent


def test_claims_that_are_missing_or_malformed_read_as_never_proved():
    assert Assurance.from_claims({}).auth_time == 0
    assert Assurance.from_claims({"auth_time": "soon", "aal": 2}).auth_time == 0
    assert Assurance.from_claims({"aal": "2"}).aal == 1
