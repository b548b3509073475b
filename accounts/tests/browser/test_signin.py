import pytest
from playwright.sync_api import expect

from accounts.tests.helpers import browser_sign_in

pytestmark = pytest.mark.browser


def test_signing_in_and_out(page, snap, account, password):
    problems = []
    page.on(
        "console",
        lambda message: (
            message.type in ("error", "warning") and problems.append(message.text)
        ),
    )
    page.goto("/accounts/signin/")
    snap("signin")

    browser_sign_in(page, "ADA@example.com", password)

    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Ada")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    expect(
        page.get_by_role("navigation").get_by_role("link", name="Sign in")
    ).to_be_visible()
    assert problems == []  # e.g. no Content-Security-Policy violation


def test_signing_in_with_a_wrong_password_keeps_the_identifier(page, snap, account):
    browser_sign_in(page, "ada", "not the password")

    expect(page.get_by_role("alert")).to_contain_text("Invalid email or password")
    expect(page.get_by_label("Email or username")).to_have_value("ada")
    expect(page.get_by_label("Password", exact=True)).to_have_value("")
    snap("signin_error")


def test_signing_in_from_a_protected_page_returns_to_it(page, account, password):
    page.goto("/accounts/security/")
    expect(page).to_have_url("/accounts/signin/?next=/accounts/security/")

    page.get_by_label("Email or username").fill("ada")
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Security")
