"""A stolen session must not become a password oracle: wrong current passwords
on change-password and delete-account count per session, and the 5th revokes
the session (without counting against the account's sign-in limits)."""

import pytest
from rest_framework.test import APIClient

from accounts.models import TokenSession, User
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.helpers import CHANGE, CLIENT_IP, ME, REFRESH, SIGNIN, signed_in

pytestmark = pytest.mark.django_db


def wrong_change(client, guess="wrong guess"):
    return client.post(
        CHANGE,
        {"old_password": guess, "new_password": "a new passphrase"},
        format="json",
    )


def wrong_delete(client, guess="wrong guess"):
    return client.delete(ME, {"password": guess}, format="json")


@pytest.mark.parametrize("attempt", [wrong_change, wrong_delete])
def test_the_fifth_wrong_current_password_revokes_the_session(attempt):
    user = UserFactory()
    client, body = signed_in(user, REMOTE_ADDR=CLIENT_IP)

    codes = [attempt(client, f"guess {i}").status_code for i in range(5)]
    after = attempt(client, PASSWORD)
    refreshed = APIClient().post(
        REFRESH, {"refresh_token": body["refresh_token"]}, format="json"
    )

    assert codes == [400] * 5
    assert after.status_code == 401
    assert refreshed.status_code == 401
    assert TokenSession.objects.get(user=user).revoked_at is not None
    user.refresh_from_db()
    assert user.check_password(PASSWORD) and user.deleted_at is None


def test_forty_guesses_are_never_all_evaluated():
    user = UserFactory()
    client, _ = signed_in(user, REMOTE_ADDR=CLIENT_IP)

    codes = [wrong_change(client, f"guess {i}").status_code for i in range(40)]

    assert codes.count(400) == 5
    assert set(codes[5:]) == {401}


def test_change_password_and_delete_account_share_the_session_s_count():
    user = UserFactory()
    client, _ = signed_in(user, REMOTE_ADDR=CLIENT_IP)
    for i in range(3):
        wrong_change(client, f"guess {i}")
    wrong_delete(client, "guess 3")

    codes = [wrong_delete(client).status_code, wrong_change(client).status_code]

    assert codes == [400, 401]


def test_wrong_current_passwords_in_one_session_leave_the_others_alone():
    user = UserFactory()
    thief, _ = signed_in(user, REMOTE_ADDR="203.0.113.9")
    owner, _ = signed_in(user, REMOTE_ADDR="192.0.2.50")
    for i in range(6):
        wrong_change(thief, f"guess {i}")

    assert wrong_change(owner).status_code == 400
    assert owner.get(ME).status_code == 200


def test_wrong_current_passwords_do_not_count_against_sign_in():
    user = UserFactory()
    for _ in range(3):
        thief, _ = signed_in(user, REMOTE_ADDR="203.0.113.9")
        for i in range(5):
            wrong_change(thief, f"guess {i}")

    signin = APIClient(REMOTE_ADDR="192.0.2.50").post(
        SIGNIN, {"email": user.email, "password": PASSWORD}, format="json"
    )

    assert signin.status_code == 200


def test_the_per_session_rule_stays_on_with_throttle_rates_off(settings):
    settings.THROTTLE_RATES = "off"
    user = UserFactory()
    client, _ = signed_in(user, REMOTE_ADDR=CLIENT_IP)

    codes = [wrong_change(client, f"guess {i}").status_code for i in range(6)]

    assert codes == [400] * 5 + [401]


def test_a_right_current_password_before_the_fifth_still_works():
    user = UserFactory()
    client, _ = signed_in(user, REMOTE_ADDR=CLIENT_IP)
    for i in range(4):
        wrong_change(client, f"guess {i}")

    response = client.post(
        CHANGE,
        {"old_password": PASSWORD, "new_password": "a new passphrase"},
        format="json",
    )

    assert response.status_code == 200
    assert User.objects.get(pk=user.pk).check_password("a new passphrase")
