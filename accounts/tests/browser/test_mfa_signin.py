"""Chromium journeys through two-factor sign-in: password then a code computed
from the authenticator's secret, a recovery code, and the admin's login."""

import time

import pytest
from playwright.sync_api import expect

from accounts.tests.factories import UserFactory
from accounts.tests.helpers import (
    add_recovery_codes,
    browser_sign_in,
    enable_totp,
    totp_code,
)

pytestmark = pytest.mark.browser


def test_signing_in_with_a_password_and_an_authenticator_code(
    page, snap, account, password
):
    secret = enable_totp(account)
    problems = []
    page.on(
        "console",
        lambda message: (
            message.type in ("error", "warning")
            # The site has no favicon: Chromium's own request for it 404s.
            and not message.location.get("url", "").endswith("/favicon.ico")
            and problems.append(message.text)
        ),
    )

    browser_sign_in(page, "ada", password)
    expect(page).to_have_url("/accounts/signin/mfa/")
    snap("signin_mfa")
    page.get_by_label("Authentication code").fill("000000")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("alert")).to_contain_text("Invalid code")
    expect(page.get_by_label("Authentication code")).to_have_value("")
    snap("signin_mfa_error")
    page.get_by_label("Authentication code").fill(totp_code(secret))
    page.get_by_role("button", name="Verify").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Ada")
    assert problems == []


def test_signing_in_with_a_recovery_code(page, account, password):
    enable_totp(account)
    codes = add_recovery_codes(account)

    browser_sign_in(page, "ada", password)
    page.get_by_label("Authentication code").fill(codes[0].lower())
    page.get_by_role("button", name="Verify").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Ada")


def test_the_admin_login_goes_through_the_second_factor(
    page, transactional_db, password
):
    staff = UserFactory(username="root", is_staff=True, is_superuser=True)
    secret = enable_totp(staff)

    page.goto("/admin/")
    page.get_by_label("Email or username").fill("root")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url("/accounts/signin/mfa/?next=/admin/")
    page.get_by_label("Authentication code").fill(totp_code(secret))
    page.get_by_role("button", name="Verify").click()

    expect(page).to_have_url("/admin/")
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()


def test_reauthenticating_with_a_code_returns_to_the_page(
    page, account, password, snap
):
    secret = enable_totp(account)
    browser_sign_in(page, "ada", password)
    page.get_by_label("Authentication code").fill(totp_code(secret))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Ada")

    page.goto("/accounts/reauthenticate/?next=/accounts/security/")
    snap("reauthenticate")
    page.get_by_label("Authentication code").fill(
        totp_code(secret, at=time.time() + 30)
    )
    page.get_by_role("button", name="Continue").click()

    expect(page).to_have_url("/accounts/security/")
