import pytest
from playwright.sync_api import expect

from accounts.models import User

pytestmark = pytest.mark.browser

PASSWORD = "a new and long enough passphrase"


def fill_signup(page, email, username):
    page.goto("/accounts/signup/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password confirmation").fill(PASSWORD)


def test_signing_up_signs_the_new_user_in(page, snap, transactional_db):
    page.goto("/")
    snap("home_anonymous")
    fill_signup(page, "grace@example.com", "grace")
    snap("signup")

    page.get_by_role("button", name="Sign up").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, grace")
    expect(page.get_by_text("Welcome, grace!")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    assert User.objects.filter(username="grace").exists()
    snap("home_signed_in")


def test_signing_up_with_a_taken_email_shows_the_error_and_keeps_the_username(
    page, snap, account
):
    fill_signup(page, account.email, "grace")

    page.get_by_role("button", name="Sign up").click()

    email = page.get_by_label("Email")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_have_accessible_description("Error: Email already registered")
    expect(page.get_by_label("Username")).to_have_value("grace")
    expect(page.get_by_label("Password", exact=True)).to_have_value("")
    assert not User.objects.filter(username="grace").exists()
    snap("signup_error")
