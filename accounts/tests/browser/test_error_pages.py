"""Each error page, reached the way a person reaches it, in Chromium with DEBUG
off: it looks like the site (header and navigation), says what to do next, and
shows no path, exception or framework detail."""

import pytest
from playwright.sync_api import expect

from accounts.tests.error_urls import SECRET
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.helpers import FORGOT_PAGE, browser_sign_in

pytestmark = pytest.mark.browser

LEAKS = ("Traceback", "Django", ".py", "/srv/", "hunter2", "DEBUG")


def assert_site_error_page(page, heading):
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    header = page.locator("header.site-header")
    expect(header.get_by_role("link", name="Identity")).to_be_visible()
    expect(header.get_by_role("navigation", name="Account")).to_be_visible()
    expect(page.locator("footer.site-footer")).to_be_visible()
    html = page.content()
    for leak in LEAKS:
        assert leak not in html, leak


def test_unknown_address_shows_the_404_page(page, snap, live_server, transactional_db):
    response = page.goto("/accounts/no-such-page/secret-word/")

    assert response.status == 404
    assert_site_error_page(page, "Page not found")
    assert "secret-word" not in page.content()
    snap("error_404")
    page.get_by_role("link", name="Go to the home page").click()
    expect(page).to_have_url(f"{live_server.url}/")


def test_too_many_query_fields_show_the_400_page(page, snap, transactional_db):
    fields = "&".join(f"field{i}=x" for i in range(150))

    response = page.goto(f"/accounts/signin/?{fields}")

    assert response.status == 400
    assert_site_error_page(page, "Bad request")
    assert "field1" not in page.content()
    snap("error_400")


def test_staff_without_permission_sees_the_403_page(page, snap, transactional_db):
    UserFactory(username="helper", email="helper@example.com", is_staff=True)
    browser_sign_in(page, "helper", PASSWORD)

    response = page.goto("/admin/accounts/user/")

    assert response.status == 403
    assert_site_error_page(page, "Access denied")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    snap("error_403")


def test_form_gone_stale_shows_the_expired_page_and_a_fresh_form(
    page, snap, live_server, account, mailoutbox
):
    page.goto(FORGOT_PAGE)
    page.get_by_label("Email").fill("ada@example.com")
    # Signing in from another tab rotates the CSRF secret: the first tab's
    # form now carries a stale token.
    other_tab = page.context.new_page()
    browser_sign_in(other_tab, "ada", PASSWORD)
    other_tab.close()

    page.get_by_role("button", name="Send the reset link").click()

    assert_site_error_page(page, "This form expired")
    assert mailoutbox == []
    snap("error_csrf")
    page.get_by_role("link", name="Open a fresh form").click()
    expect(page).to_have_url(f"{live_server.url}{FORGOT_PAGE}")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_role("button", name="Send the reset link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    assert [message.to for message in mailoutbox] == [["ada@example.com"]]


def test_throttled_form_shows_the_429_page(page, snap, settings, transactional_db):
    settings.THROTTLE_RATES = "password=1/hour"
    page.goto(FORGOT_PAGE)
    page.get_by_label("Email").fill("someone@example.com")
    page.get_by_role("button", name="Send the reset link").click()
    page.goto(FORGOT_PAGE)
    page.get_by_label("Email").fill("someone@example.com")

    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Send the reset link").click()

    assert answer.value.status == 429
    assert int(answer.value.headers["retry-after"]) > 0
    assert_site_error_page(page, "Too many attempts")
    expect(page.get_by_text("Try again in")).to_be_visible()
    snap("error_429")
    page.get_by_role("link", name="Back to the form").click()
    expect(page.get_by_label("Email")).to_be_visible()


def test_unexpected_failure_shows_the_500_page(page, snap, settings, transactional_db):
    settings.ROOT_URLCONF = "accounts.tests.error_urls"

    response = page.goto("/test/broken/")

    assert response.status == 500
    assert_site_error_page(page, "Something went wrong")
    assert SECRET not in page.content()
    snap("error_500")
