"""Chromium journeys with passkeys, made and used by the DevTools virtual
authenticator (a CTAP2 platform authenticator with user verification that
answers at once): add one from the two-factor page, sign in with nothing else,
use it as the second factor and to confirm it's you, rename and remove it;
and what the pages say when the browser cannot or will not answer.
The authenticator and the helpers are in virtual_authenticator.py.
"""

import time

import pytest
import time_machine
from playwright.sync_api import expect

from accounts.models import Authenticator, AuthEvent, RecoveryCode
from accounts.tests.browser.virtual_authenticator import (
    add_passkey,
    passkey_names,
    sign_out,
    with_a_passkey,
)
from accounts.tests.helpers import browser_sign_in, stale_by

pytestmark = pytest.mark.browser


@pytest.fixture
def problems(page):
    """Console errors and warnings of the pages (a CSP refusal shows here)."""
    seen = []
    page.on(
        "console",
        lambda message: (
            message.type in ("error", "warning")
            and not message.location.get("url", "").endswith("/favicon.ico")
            and seen.append(message.text)
        ),
    )
    return seen


def test_adding_a_passkey_then_signing_in_with_it_alone(
    page, snap, account, password, authenticator, problems
):
    browser_sign_in(page, "ada", password)
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Ada")
    page.goto("/accounts/mfa/")
    snap("passkeys_none")

    add_passkey(page, "Work laptop")

    # The first factor of the account: its recovery codes, shown once.
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Save your recovery codes"
    )
    expect(page.get_by_text("Passkey “Work laptop” added.")).to_be_visible()
    assert RecoveryCode.objects.filter(user=account).count() == 10
    assert len(authenticator.credentials()) == 1
    page.get_by_role("link", name="I have saved them").click()
    expect(passkey_names(page)).to_have_text(["Work laptop"])
    snap("passkeys_one")

    sign_out(page)
    # The passkey offered in the username field's autofill is taken at once.
    page.goto("/accounts/signin/?next=/accounts/security/")

    expect(page).to_have_url("/accounts/security/")
    event = AuthEvent.objects.filter(
        user=account, type=AuthEvent.Type.SIGNIN_SUCCEEDED
    ).latest("created_at")
    assert event.detail["amr"] == ["pk"]
    assert problems == []


def test_the_sign_in_button_uses_the_passkey(
    page, snap, account, password, authenticator, problems
):
    with_a_passkey(page, password)
    authenticator.answer_automatically(False)
    page.goto("/accounts/signin/?next=/accounts/profile/")
    expect(page.get_by_role("button", name="Sign in with a passkey")).to_be_visible()
    snap("signin_passkey")
    authenticator.answer_automatically(True)

    page.get_by_role("button", name="Sign in with a passkey").click()

    expect(page).to_have_url("/accounts/profile/")
    assert problems == []


def test_a_password_then_the_passkey_as_second_factor(
    page, snap, account, password, authenticator, problems
):
    with_a_passkey(page, password)
    authenticator.answer_automatically(False)

    browser_sign_in(page, "ada", password)
    expect(page).to_have_url("/accounts/signin/mfa/")
    snap("signin_mfa_passkey")
    authenticator.answer_automatically(True)
    page.get_by_role("button", name="Use a passkey").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Ada")
    event = AuthEvent.objects.filter(
        user=account, type=AuthEvent.Type.SIGNIN_SUCCEEDED
    ).latest("created_at")
    assert event.detail["amr"] == ["pwd", "pk"]
    assert problems == []


def test_reauthenticating_renaming_and_removing_a_passkey(
    page, snap, account, password, authenticator, problems
):
    with_a_passkey(page, password, sign_out_after=False)
    page.goto("/accounts/mfa/")
    page.get_by_label("New name for Work laptop").fill("  Old   phone ")
    page.get_by_role("button", name="Rename Work laptop").click()
    expect(page.get_by_text("Passkey renamed “Old phone”.")).to_be_visible()
    expect(passkey_names(page)).to_have_text(["Old phone"])

    with time_machine.travel(time.time() + stale_by(), tick=True):
        page.get_by_role("button", name="Remove Old phone").click()
        expect(page).to_have_url("/accounts/reauthenticate/?next=%2Faccounts%2Fmfa%2F")
        snap("reauthenticate_passkey")
        page.get_by_role("button", name="Use a passkey").click()
        expect(page).to_have_url("/accounts/mfa/")
        page.get_by_role("button", name="Remove Old phone").click()

        expect(page.get_by_text("The passkey has been removed.")).to_be_visible()
    expect(page.get_by_text("You have no passkey yet.")).to_be_visible()
    assert not Authenticator.objects.filter(user=account).exists()
    assert not RecoveryCode.objects.filter(user=account).exists()
    assert problems == []


def test_without_passkey_support_the_pages_say_so(page, account, password, snap):
    page.add_init_script("delete window.PublicKeyCredential")
    page.goto("/accounts/signin/")
    expect(page.get_by_role("alert")).to_have_text(
        "This browser does not support passkeys. Use another way to continue."
    )
    expect(page.get_by_role("button", name="Sign in with a passkey")).to_be_hidden()

    browser_sign_in(page, "ada", password)
    page.goto("/accounts/mfa/")

    expect(page.get_by_role("button", name="Add a passkey")).to_be_hidden()
    expect(page.get_by_role("alert")).to_contain_text("does not support passkeys")
    snap("passkeys_unsupported")


def test_a_refused_user_verification_adds_no_passkey(
    page, account, password, authenticator, snap
):
    browser_sign_in(page, "ada", password)
    authenticator.refuse_user_verification()

    add_passkey(page, "Laptop")

    expect(page.get_by_role("alert")).to_have_text(
        "No passkey was added: the request was cancelled or timed out."
    )
    assert not Authenticator.objects.filter(user=account).exists()
    snap("passkeys_cancelled")


def test_a_device_without_the_passkey_is_told_so(
    page, account, password, authenticator
):
    with_a_passkey(page, password)
    authenticator.forget_passkeys()
    page.goto("/accounts/signin/")

    page.get_by_role("button", name="Sign in with a passkey").click()

    expect(page.get_by_role("alert")).to_contain_text(
        "this device has no passkey for this account"
    )
    expect(page).to_have_url("/accounts/signin/")
