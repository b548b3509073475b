"""Two browsers signed in to one account: from the security page of one, the
other is signed out, and finds out on its very next request."""

import pytest
from playwright.sync_api import expect

from accounts.models import BrowserSession
from accounts.tests.browser.conftest import DESKTOP
from accounts.tests.helpers import browser_sign_in

pytestmark = pytest.mark.browser

FIREFOX_ON_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
)


@pytest.fixture
def other_page(browser, live_server):
    """A second browser (its own cookies), which says it is Firefox on Windows so
    the security page tells the two apart."""
    context = browser.new_context(
        base_url=live_server.url, viewport=DESKTOP, user_agent=FIREFOX_ON_WINDOWS
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def expect_signed_in(page):
    page.goto("/accounts/profile/")
    expect(page).to_have_url("/accounts/profile/")


def expect_sent_to_sign_in(page):
    page.goto("/accounts/profile/")
    expect(page).to_have_url("/accounts/signin/?next=/accounts/profile/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")


def test_signing_out_another_browser_from_the_security_page(
    page, other_page, snap, account, password
):
    browser_sign_in(other_page, "ada", password)
    browser_sign_in(page, "ada", password)
    expect_signed_in(other_page)
    page.goto("/accounts/security/")
    snap("security_browsers")
    firefox = page.get_by_role("row").filter(has_text="Firefox on Windows")
    expect(page.get_by_role("row").filter(has_text="This browser")).to_have_count(1)

    firefox.get_by_role("button", name="Sign out").click()

    expect(page.get_by_text("That browser has been signed out.")).to_be_visible()
    expect(firefox).to_have_count(0)
    snap("security_browser_revoked")
    expect_sent_to_sign_in(other_page)
    expect_signed_in(page)
    revoked = BrowserSession.objects.get(user=account, user_agent=FIREFOX_ON_WINDOWS)
    assert revoked.revoked_at is not None


def test_signing_out_everywhere_else_keeps_only_this_browser(
    page, other_page, account, password
):
    browser_sign_in(other_page, "ada", password)
    browser_sign_in(page, "ada", password)
    page.goto("/accounts/security/")

    page.get_by_role("button", name="Sign out everywhere else").click()

    expect(
        page.get_by_text("Every other browser and app has been signed out.")
    ).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="Firefox on Windows")).to_have_count(
        0
    )
    expect_sent_to_sign_in(other_page)
    expect_signed_in(page)


def test_signing_out_this_browser_from_the_list_signs_it_out(page, account, password):
    browser_sign_in(page, "ada", password)
    page.goto("/accounts/security/")

    page.get_by_role("row").filter(has_text="This browser").get_by_role(
        "button", name="Sign out"
    ).click()

    expect(page.get_by_text("This browser has been signed out.")).to_be_visible()
    expect_sent_to_sign_in(page)
