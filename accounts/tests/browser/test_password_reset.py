import pytest
from playwright.sync_api import expect

from accounts.tests.helpers import browser_sign_in, emailed_path

pytestmark = pytest.mark.browser

NEW_PASSWORD = "a brand new passphrase"


def test_resetting_a_forgotten_password_from_the_emailed_link(
    page, snap, account, mailoutbox
):
    page.goto("/accounts/password/forgot/")
    snap("forgot_password")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_role("button", name="Send the reset link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    snap("forgot_password_done")
    link = emailed_path(mailoutbox[-1])
    token = link.rstrip("/").rsplit("/", 1)[1]

    page.goto(link)

    assert token not in page.url
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose a new password")
    snap("reset_password")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password confirmation").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_text("Your password has been reset.")).to_be_visible()
    browser_sign_in(page, "ada", NEW_PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Ada")


def test_a_used_reset_link_shows_the_invalid_link_page(page, snap, account, mailoutbox):
    page.goto("/accounts/password/forgot/")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_role("button", name="Send the reset link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    link = emailed_path(mailoutbox[-1])
    page.goto(link)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password confirmation").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set the new password").click()

    page.goto(link)

    expect(page.get_by_text("Invalid or expired link.")).to_be_visible()
    snap("reset_password_invalid")
