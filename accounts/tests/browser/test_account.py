import pytest
from django.core import mail
from playwright.sync_api import expect

from accounts import services
from accounts.models import TokenSession, User
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import PROVED, browser_sign_in, emailed_path

pytestmark = pytest.mark.browser

NEW_PASSWORD = "a brand new passphrase"


def test_changing_the_password(page, snap, account, password):
    browser_sign_in(page, "ada", password)
    page.goto("/accounts/password/change/")
    snap("change_password")

    page.get_by_label("Current password").fill(password)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password confirmation").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()

    expect(page.get_by_text("Your password has been changed.")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("Security")
    account.refresh_from_db()
    assert account.check_password(NEW_PASSWORD)


def test_changing_the_password_with_a_wrong_current_one(page, snap, account, password):
    browser_sign_in(page, "ada", password)
    page.goto("/accounts/password/change/")

    page.get_by_label("Current password").fill("not my password")
    page.get_by_label("New password", exact=True).fill("short")
    page.get_by_label("New password confirmation").fill("short")
    page.get_by_role("button", name="Change password").click()

    expect(page.get_by_label("Current password")).to_have_accessible_description(
        "Error: Incorrect current password"
    )
    snap("change_password_error")


def test_editing_the_profile(page, snap, account, password, mailoutbox):
    browser_sign_in(page, "ada", password)
    page.goto("/accounts/profile/")
    snap("profile")

    page.get_by_label("First name").fill("Augusta")
    page.get_by_label("Email").fill("augusta@example.com")
    page.get_by_role("button", name="Save changes").click()

    expect(page.get_by_text("We sent a link to augusta@example.com")).to_be_visible()
    expect(page.get_by_label("First name")).to_have_value("Augusta")
    expect(page.get_by_text("You asked to change your email address")).to_be_visible()
    snap("profile_saved")
    account.refresh_from_db()
    assert (account.first_name, account.pending_email) == (
        "Augusta",
        "augusta@example.com",
    )

    (link,) = [m for m in mailoutbox if m.to == ["augusta@example.com"]]
    page.goto(emailed_path(link))
    snap("confirm_email_change")
    page.get_by_role("button", name="Confirm the new address").click()

    expect(page.get_by_text("Your email address is now augusta")).to_be_visible()
    account.refresh_from_db()
    assert (account.email, account.email_verified) == ("augusta@example.com", True)


def test_deleting_the_account(page, snap, account, password):
    browser_sign_in(page, "ada", password)
    page.goto("/accounts/profile/")
    page.get_by_role("link", name="Delete your account").click()
    snap("delete_account")

    page.get_by_label("Current password").fill(password)
    page.get_by_role("button", name="Delete my account").click()

    expect(page.get_by_text("Your account has been deleted.")).to_be_visible()
    expect(
        page.get_by_role("navigation").get_by_role("link", name="Sign in")
    ).to_be_visible()
    assert User.objects.get(pk=account.pk).deleted_at is not None


def test_revoking_an_api_session_on_the_security_page(page, snap, account, password):
    services.start_api_session(
        user=account,
        assurance=PROVED,
        client=services.Client(
            ip="203.0.113.7",
            user_agent="Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 "
            "(KHTML, like Gecko) Chrome/126.0 Safari/537.36",
        ),
    )
    services.start_api_session(
        user=account,
        assurance=PROVED,
        client=services.Client(ip="198.51.100.2", user_agent="ada-cli/1.2"),
    )
    browser_sign_in(page, "ada", password)
    page.goto("/accounts/security/")
    snap("security")

    page.get_by_role("row", name="ada-cli/1.2").get_by_role(
        "button", name="Sign out"
    ).click()

    expect(page.get_by_text("The session has been signed out.")).to_be_visible()
    expect(page.get_by_role("row", name="ada-cli/1.2")).to_have_count(0)
    assert TokenSession.objects.filter(user=account, revoked_at=None).count() == 1
    snap("security_revoked")


def test_signing_out_everywhere(page, account, password):
    services.start_api_session(user=account, assurance=PROVED)
    browser_sign_in(page, "ada", password)
    page.goto("/accounts/security/")

    page.get_by_role("button", name="Sign out everywhere", exact=True).click()

    expect(page.get_by_text("signed out everywhere")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    assert not TokenSession.objects.filter(user=account, revoked_at=None).exists()


def test_verifying_the_email_address_from_the_link(page, snap, transactional_db):
    UserFactory(username="grace", email="grace@example.com", email_verified=False)
    page.goto("/accounts/verify-email/resend/")
    page.get_by_label("Email").fill("grace@example.com")
    page.get_by_role("button", name="Send the link").click()
    page.goto(emailed_path(mail.outbox[-1]))
    snap("verify_email")

    page.get_by_role("button", name="Confirm my email address").click()

    expect(page.get_by_text("Your email address is verified.")).to_be_visible()
    assert User.objects.get(username="grace").email_verified
