"""Signing in with only a mailbox: the code arrives by email (sent by the task
worker, inline in the tests) and is typed into /accounts/signin/code/."""

import pytest
from playwright.sync_api import expect

from accounts.models import AuthEvent, User
from accounts.tests.helpers import emailed_code

pytestmark = pytest.mark.browser


def ask_for_a_code(page, email):
    page.goto("/accounts/signin/")
    page.get_by_role("link", name="Email me a code").click()
    expect(page).to_have_url("/accounts/signin/code/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in with a code")
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Email me a code").click()
    expect(
        page.get_by_text("If an account uses this address, a code is on its way")
    ).to_be_visible()


def test_signing_in_with_a_code_from_the_email(page, snap, account, mailoutbox):
    User.objects.filter(pk=account.pk).update(email_verified=False)
    page.goto("/accounts/signin/code/")
    snap("signin_code")
    ask_for_a_code(page, "ADA@example.com")
    snap("signin_code_sent")
    (message,) = mailoutbox
    assert message.to == ["ada@example.com"]
    code = emailed_code(message)
    assert code not in page.content()

    page.get_by_label("Code from the email").fill(f" {code.lower()} ")
    page.get_by_role("button", name="Sign in", exact=True).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Ada")
    account.refresh_from_db()
    assert account.email_verified
    event = AuthEvent.objects.get(user=account, type="signin_succeeded")
    assert event.detail["method"] == "email"


def test_a_wrong_code_shows_an_error_and_signs_nobody_in(
    page, snap, account, mailoutbox
):
    ask_for_a_code(page, "ada@example.com")
    code = emailed_code(mailoutbox[-1])
    wrong = "".join("B" if char == "A" else "A" for char in code)

    page.get_by_label("Code from the email").fill(wrong)
    page.get_by_role("button", name="Sign in", exact=True).click()

    expect(page.get_by_role("alert")).to_contain_text("Invalid or expired code")
    expect(page.get_by_label("Code from the email")).to_have_value("")
    snap("signin_code_error")
    # The right code still works: one wrong try does not kill it.
    page.get_by_label("Code from the email").fill(code)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Ada")


def test_an_unknown_address_gets_the_same_page_and_no_email(
    page, transactional_db, mailoutbox
):
    ask_for_a_code(page, "nobody@example.com")

    expect(page.get_by_label("Code from the email")).to_be_visible()
    assert mailoutbox == []
