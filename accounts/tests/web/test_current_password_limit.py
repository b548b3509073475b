"""The pages' twin of the per-session limit on wrong current passwords."""

import pytest
from django.test import Client

from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.helpers import browser_signed_in, messages_of

pytestmark = pytest.mark.django_db


def wrong_change(client, guess="wrong guess"):
    return client.post(
        "/accounts/password/change/",
        {
            "old_password": guess,
            "new_password": "a new passphrase",
            "new_password_confirmation": "a new passphrase",
        },
    )


def wrong_delete(client, guess="wrong guess"):
    return client.post("/accounts/delete/", {"password": guess})


@pytest.mark.parametrize("attempt", [wrong_change, wrong_delete])
def test_the_fifth_wrong_current_password_signs_the_browser_out(client, attempt):
    user = UserFactory()
    browser_signed_in(user, client=client)

    codes = [attempt(client, f"guess {i}").status_code for i in range(4)]
    fifth = attempt(client, "guess 4")

    assert codes == [200] * 4
    assert fifth.status_code == 302
    assert fifth["Location"].startswith("/accounts/signin/")
    assert "_auth_user_id" not in client.session
    assert any("signed out" in m for m in messages_of(fifth))
    assert client.get("/accounts/profile/").status_code == 302
    user.refresh_from_db()
    assert user.check_password(PASSWORD) and user.deleted_at is None


def test_the_page_rule_stays_on_with_throttle_rates_off(client, settings):
    settings.THROTTLE_RATES = "off"
    browser_signed_in(UserFactory(), client=client)

    for i in range(5):
        response = wrong_change(client, f"guess {i}")

    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_another_browser_of_the_same_account_stays_signed_in(client, django_user_model):
    user = UserFactory()
    other = Client()
    browser_signed_in(user, client=other)
    browser_signed_in(user, client=client)
    for i in range(5):
        wrong_change(client, f"guess {i}")

    assert other.get("/accounts/profile/").status_code == 200
