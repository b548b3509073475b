import re

import pytest
from playwright.sync_api import expect

from accounts.tests.factories import UserFactory
from accounts.tests.helpers import browser_sign_in, emailed_code, totp_code

pytestmark = pytest.mark.browser


def test_setting_up_an_authenticator_app_from_the_qr_page(
    page, snap, account, password
):
    problems = []
    page.on(
        "console",
        lambda message: (
            message.type in ("error", "warning")
            # Chromium asks for a favicon on its own; the site has none.
            and not message.location["url"].endswith("/favicon.ico")
            and problems.append(message.text)
        ),
    )
    browser_sign_in(page, "ada", password)
    page.get_by_role("link", name="Two-factor authentication").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Two-factor authentication"
    )
    snap("mfa_off")

    page.get_by_role("button", name="Set up an authenticator app").click()

    qr = page.locator(".qr svg")
    expect(qr).to_be_visible()
    box = qr.bounding_box()
    assert box["width"] >= 150 and box["height"] >= 150
    snap("mfa_setup")
    secret = page.locator("#totp-secret").inner_text()

    page.get_by_label("Code from the app").fill(totp_code(secret))
    page.get_by_role("button", name="Turn on").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Save your recovery codes"
    )
    assert len(set(page.locator(".recovery-codes code").all_inner_texts())) == 10
    snap("mfa_recovery_codes")
    page.get_by_role("link", name="I have saved them").click()
    expect(page.get_by_text("10 of 10")).to_be_visible()
    snap("mfa_on")
    account.refresh_from_db()
    assert account.has_mfa
    assert problems == []  # e.g. no Content-Security-Policy violation


def test_a_wrong_first_code_is_explained_next_to_the_field(
    page, snap, account, password
):
    browser_sign_in(page, "ada", password)
    page.goto("/accounts/mfa/")
    page.get_by_role("button", name="Set up an authenticator app").click()

    page.get_by_label("Code from the app").fill("000000")
    page.get_by_role("button", name="Turn on").click()

    expect(page.get_by_label("Code from the app")).to_have_accessible_description(
        "The six digits your authenticator app shows now. Error: Invalid code"
    )
    expect(page.get_by_label("Code from the app")).to_have_value("")
    snap("mfa_setup_error")


def test_a_staff_account_is_led_through_set_up_before_the_admin_opens(
    page, snap, settings, mailoutbox, transactional_db, password
):
    settings.MFA_REQUIRED = "staff"
    UserFactory(
        username="clerk",
        email="clerk@example.com",
        is_staff=True,
        is_superuser=True,
        email_verified=True,
    )

    browser_sign_in(page, "clerk", password)
    page.goto("/admin/")

    expect(page).to_have_url(re.compile(r"/accounts/mfa/$"))
    page.get_by_role("button", name="Set up an authenticator app").click()
    secret = page.locator("#totp-secret").inner_text()
    page.get_by_role("button", name="Email me a code").click()
    page.get_by_label("Code from the app").fill(totp_code(secret))
    page.get_by_label("Code from the email").fill(emailed_code(mailoutbox[-1]))
    snap("mfa_setup_confined")
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Save your recovery codes"
    )
    page.goto("/admin/")

    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.get_by_role("link", name="Users")).to_be_visible()
