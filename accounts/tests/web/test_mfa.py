"""The two-factor settings page, /accounts/mfa/: set up an authenticator app
from a QR code or the secret as text, recovery codes shown once, turning it
off; sensitive actions send a stale session to reauthenticate."""

import re
import time

import pytest
import time_machine
from django.test import Client

from accounts import services
from accounts.assurance import Assurance
from accounts.models import Authenticator, RecoveryCode
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.helpers import (
    ME,
    MFA_PAGE,
    REAUTHENTICATE_PAGE,
    emailed_code,
    field_errors,
    messages_of,
    signed_in,
    totp_code,
)

pytestmark = pytest.mark.django_db

SETUP_PAGE = "/accounts/mfa/totp/setup/"
CONFIRM_PAGE = "/accounts/mfa/totp/confirm/"
DISABLE_PAGE = "/accounts/mfa/totp/disable/"
RECOVERY_CODES_PAGE = "/accounts/mfa/recovery-codes/"
ENROL_CODE_PAGE = "/accounts/mfa/enrol-code/"
REAUTH_REDIRECT = f"{REAUTHENTICATE_PAGE}?next=%2Faccounts%2Fmfa%2F"
SHOWN_CODE = re.compile(r"<code>([A-Z2-9]{5}-[A-Z2-9]{5})</code>")


def browser_signed_in(user) -> Client:
    """A browser that signed in through the form just now (a recent sign-in)."""
    browser = Client()
    response = browser.post(
        "/accounts/signin/", {"username": user.username, "password": PASSWORD}
    )
    assert response.status_code == 302
    return browser


def shown_secret(response) -> str:
    match = re.search(r'id="totp-secret"[^>]*>([A-Z2-7 ]+)<', response.content.decode())
    assert match, response.content.decode()
    return match.group(1).replace(" ", "")


def set_up(browser) -> str:
    browser.post(SETUP_PAGE)
    return shown_secret(browser.get(MFA_PAGE))


def turn_on(browser, *, email_code: str = "") -> list[str]:
    secret = set_up(browser)
    response = browser.post(
        CONFIRM_PAGE, {"code": totp_code(secret), "email_code": email_code}
    )
    assert response.status_code == 200
    return SHOWN_CODE.findall(response.content.decode())


@pytest.fixture
def browser(user):
    return browser_signed_in(user)


def test_the_page_needs_a_sign_in(client):
    response = client.get(MFA_PAGE)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/signin/")


def test_the_page_offers_to_set_up_an_authenticator_app(browser):
    response = browser.get(MFA_PAGE)

    assert response.status_code == 200
    assert b"Set up an authenticator app" in response.content
    assert "no-store" in response["Cache-Control"]


def test_setting_up_shows_a_qr_code_and_the_secret_as_text(browser):
    response = browser.post(SETUP_PAGE)

    assert response.status_code == 302
    assert response["Location"] == MFA_PAGE
    page = browser.get(MFA_PAGE)
    assert b"<svg" in page.content
    assert re.fullmatch(r"[A-Z2-7]{32}", shown_secret(page))


def test_confirming_turns_the_app_on_and_shows_ten_recovery_codes_once(
    user, browser, mailoutbox
):
    secret = set_up(browser)

    response = browser.post(CONFIRM_PAGE, {"code": totp_code(secret)})

    assert response.status_code == 200
    shown = SHOWN_CODE.findall(response.content.decode())
    assert len(set(shown)) == 10
    assert user.has_mfa
    assert services.verify_second_factor(user=user, code=shown[0]) == "rc"
    later = browser.get(MFA_PAGE).content.decode()
    assert not SHOWN_CODE.findall(later)
    assert "9 of 10" in later
    assert len(mailoutbox) == 2  # the factor notice, then the used code's


def test_confirming_keeps_this_browser_signed_in_at_level_2(user, browser):
    turn_on(browser)

    assert browser.get(MFA_PAGE).status_code == 200
    kept = Assurance.from_claims(browser.session["assurance"])
    assert kept.aal == 2
    assert kept.amr == ("pwd", "otp")


def test_confirming_the_first_factor_signs_out_other_browsers_and_apps(user, browser):
    other_browser = browser_signed_in(user)
    app, _ = signed_in(user)

    turn_on(browser)

    assert other_browser.get(MFA_PAGE).status_code == 302
    assert app.get(ME).status_code == 401


def test_the_confirming_browser_stays_listed_on_the_security_page(user, browser):
    other_browser = browser_signed_in(user)

    turn_on(browser)

    listed = browser.get("/accounts/security/").context["browser_sessions"]
    assert [session.current for session in listed] == [True]
    assert other_browser.get(MFA_PAGE).status_code == 302


def test_a_wrong_code_is_shown_next_to_the_field_and_not_kept(user, browser):
    secret = set_up(browser)
    wrong = f"{(int(totp_code(secret)) + 1) % 1_000_000:06d}"

    response = browser.post(CONFIRM_PAGE, {"code": wrong})

    assert response.status_code == 200
    assert field_errors(response, "code") == ["Invalid code"]
    assert f'value="{wrong}"' not in response.content.decode()
    assert not user.has_mfa
    # The set-up is still there to try again.
    assert shown_secret(response) == secret


def test_confirming_without_a_setup_says_so(user, browser):
    response = browser.post(CONFIRM_PAGE, {"code": "123456"})

    assert response.status_code == 302
    assert messages_of(response) == [
        "No set-up in progress in this session. Start again."
    ]


def test_setting_up_after_the_window_sends_the_browser_to_reauthenticate(
    user, settings
):
    with time_machine.travel(time.time(), tick=False) as traveller:
        browser = browser_signed_in(user)
        traveller.shift(settings.REAUTH_WINDOW + 1)

        response = browser.post(SETUP_PAGE)

    assert response.status_code == 302
    assert response["Location"] == REAUTH_REDIRECT


def test_a_session_without_a_proof_is_sent_to_reauthenticate(user, client):
    client.force_login(user)

    response = client.post(SETUP_PAGE)

    assert response["Location"] == REAUTH_REDIRECT


@pytest.mark.parametrize("path", [DISABLE_PAGE, RECOVERY_CODES_PAGE])
def test_changes_after_the_window_send_the_browser_to_reauthenticate(
    user, settings, path
):
    with time_machine.travel(time.time(), tick=False) as traveller:
        browser = browser_signed_in(user)
        turn_on(browser)
        traveller.shift(settings.REAUTH_WINDOW + 1)

        response = browser.post(path)

    assert response["Location"] == REAUTH_REDIRECT
    assert user.has_mfa


def test_regenerating_shows_a_new_set_and_the_old_one_dies(user, browser):
    old = turn_on(browser)

    response = browser.post(RECOVERY_CODES_PAGE)

    new = SHOWN_CODE.findall(response.content.decode())
    assert len(set(new)) == 10
    assert services.verify_second_factor(user=user, code=old[0]) is None
    assert RecoveryCode.objects.filter(user=user, used_at__isnull=True).count() == 10


def test_turning_the_app_off(user, browser, mailoutbox):
    turn_on(browser)

    response = browser.post(DISABLE_PAGE)

    assert response.status_code == 302
    assert response["Location"] == MFA_PAGE
    assert not user.has_mfa
    assert not RecoveryCode.objects.filter(user=user).exists()
    assert messages_of(response) == ["The authenticator app is off."]


def test_the_last_factor_of_a_staff_account_stays_with_a_message(settings, mailoutbox):
    settings.MFA_REQUIRED = "staff"
    staff = UserFactory(is_staff=True)
    browser = browser_signed_in(staff)
    browser.post(ENROL_CODE_PAGE)
    turn_on(browser, email_code=emailed_code(mailoutbox[-1]))

    response = browser.post(DISABLE_PAGE)

    assert staff.has_mfa
    assert "add another factor before removing this one" in messages_of(response)[0]


def test_the_actions_are_post_only(browser):
    for path in (SETUP_PAGE, CONFIRM_PAGE, DISABLE_PAGE, RECOVERY_CODES_PAGE):
        assert browser.get(path).status_code == 405


def test_an_enabled_app_shows_when_it_was_turned_on(user, browser):
    turn_on(browser)
    created = Authenticator.objects.get(user=user).created_at

    page = browser.get(MFA_PAGE).content.decode()

    assert f"{created:%-d %B %Y}" in page
    assert "Turn off" in page


def test_home_and_security_pages_link_to_the_mfa_page(browser):
    for path in ("/", "/accounts/security/"):
        assert f'href="{MFA_PAGE}"' in browser.get(path).content.decode()
