"""The example SPA (examples/spa/) in Chromium: a cookie session whose refresh
token script never sees, that survives a reload and ends at sign-out; begun
with a password, an emailed code or a passkey (the DevTools virtual
authenticator's)."""

import pytest
from playwright.sync_api import expect

from accounts.models import TokenSession
from accounts.tests.browser.virtual_authenticator import with_a_passkey
from accounts.tests.helpers import emailed_code, enable_totp, totp_code

pytestmark = pytest.mark.browser

SPA = "/examples/spa/"
# The test settings' SITE_URL is https, so the cookie is the __Host- one
# (Chromium keeps Secure cookies from http://localhost, a secure context).
COOKIE_NAME = "__Host-identity_refresh"
# Passkey tests make SITE_URL the live server's http://localhost:<port>.
PLAIN_COOKIE_NAME = "identity_refresh"


@pytest.fixture(autouse=True)
def spa_settings(settings, live_server):
    settings.EXAMPLE_SPA = True
    # The SPA's origin, as a deployment names its SPA.
    settings.FRONTEND_URL = live_server.url


# Chromium logs every 4xx fetch; a signed-out page's refresh answers 401 by
# design, so those lines are not problems.
EXPECTED_401 = "Failed to load resource: the server responded with a status of 401"


@pytest.fixture
def problems(page):
    """Console errors and warnings (a CSP violation would be one)."""
    seen = []
    page.on(
        "console",
        lambda message: (
            message.type in ("error", "warning")
            and not message.text.startswith(EXPECTED_401)
            # The site's own pages (where a passkey is added) have no icon.
            and not message.location.get("url", "").endswith("/favicon.ico")
            and seen.append(f"{message.text} {message.location.get('url')}")
        ),
    )
    return seen


def refresh_cookie(page, name=COOKIE_NAME):
    cookies = [c for c in page.context.cookies() if c["name"] == name]
    return cookies[0] if cookies else None


def expect_signed_in_as(page, username):
    expect(page.get_by_role("status")).to_have_text(f"Signed in as {username}.")
    expect(page.locator("#me-username")).to_have_text(username)


def expect_signed_out(page):
    expect(page.get_by_role("heading", name="Sign in with a password")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_hidden()


def sign_in_with_password(page, identifier, password):
    form = page.get_by_role("region", name="Sign in with a password")
    form.get_by_label("Email or username").fill(identifier)
    form.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def test_sign_up_reload_and_sign_out(page, snap, problems, transactional_db):
    page.goto(SPA)
    expect_signed_out(page)
    snap("example_spa_signed_out")

    page.locator("#signup-email").fill("grace@example.com")
    page.locator("#signup-username").fill("grace")
    page.locator("#signup-password").fill("correct horse battery staple")
    page.get_by_role("button", name="Sign up").click()

    expect_signed_in_as(page, "grace")
    expect(page.locator("#me-email")).to_have_text("grace@example.com")
    snap("example_spa_signed_in")
    assert TokenSession.objects.get().transport == "cookie"
    cookie = refresh_cookie(page)
    assert cookie["httpOnly"] is True
    assert cookie["secure"] is True
    assert cookie["sameSite"] == "Strict"
    # Script cannot read the refresh token, nor find it anywhere it keeps state.
    assert "identity_refresh" not in page.evaluate("document.cookie")
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0

    page.reload()

    expect_signed_in_as(page, "grace")

    page.get_by_role("button", name="Sign out").click()

    expect(page.get_by_role("status")).to_have_text("Signed out.")
    assert refresh_cookie(page) is None
    assert not TokenSession.objects.filter(revoked_at__isnull=True).exists()
    page.reload()
    expect_signed_out(page)
    expect(page.get_by_role("status")).to_have_text("You are signed out.")
    assert problems == []


def test_password_sign_in_with_a_second_factor(page, account, password):
    secret = enable_totp(account)
    page.goto(SPA)

    sign_in_with_password(page, "ada", password)
    page.get_by_label("Authenticator code or recovery code").fill(totp_code(secret))
    page.get_by_role("button", name="Continue").click()

    expect_signed_in_as(page, "ada")
    assert TokenSession.objects.get().aal == 2
    page.reload()
    expect_signed_in_as(page, "ada")


def test_wrong_password_shows_the_services_message(page, account):
    page.goto(SPA)

    sign_in_with_password(page, "ada", "not the password")

    expect(page.get_by_role("alert")).to_have_text("Invalid email or password")
    expect_signed_out(page)


def test_code_sign_in_reading_the_code_from_the_mail(page, account, mailoutbox):
    page.goto(SPA)
    expect_signed_out(page)

    page.locator("#code-email").fill("ada@example.com")
    page.get_by_role("button", name="Email me a code").click()
    expect(page.get_by_label("Code from the email")).to_be_visible()
    page.get_by_label("Code from the email").fill(emailed_code(mailoutbox[-1]))
    page.get_by_role("button", name="Sign in with the code").click()

    expect_signed_in_as(page, "ada")
    assert "identity_refresh" not in page.evaluate("document.cookie")
    page.reload()
    expect_signed_in_as(page, "ada")


def test_a_page_on_another_origin_cannot_use_the_cookie(page, account, password):
    """The same page opened at 127.0.0.1 (not an allowed origin) is refused
    with a message that says what to do."""
    page.goto(SPA)
    sign_in_with_password(page, "ada", password)
    expect_signed_in_as(page, "ada")
    other = page.url.replace("localhost", "127.0.0.1")

    page.goto(other)

    expect(page.get_by_role("alert")).to_contain_text("Open this page at")
    expect_signed_out(page)


def test_the_access_token_is_renewed_silently_before_it_expires(
    page, account, password
):
    # The page's clock is Playwright's, so the 14-minute wait takes no time.
    page.clock.install()
    page.goto(SPA)
    sign_in_with_password(page, "ada", password)
    expect_signed_in_as(page, "ada")
    first_cookie = refresh_cookie(page)["value"]

    with page.expect_response(
        lambda response: response.url.endswith("/api/v1/auth/token/refresh")
    ) as renewal:
        page.clock.run_for("14:30")

    assert renewal.value.status == 200
    assert refresh_cookie(page)["value"] != first_cookie
    expect_signed_in_as(page, "ada")


def test_passkey_sign_in_keeps_the_session_in_the_cookie(
    page, snap, account, password, authenticator, problems
):
    with_a_passkey(page, password)  # on the site's two-factor page
    page.goto(SPA)
    expect_signed_out(page)
    snap("example_spa_passkey")

    page.get_by_role("button", name="Sign in with a passkey").click()

    expect_signed_in_as(page, "ada")
    expect(page.locator("#me-email")).to_have_text("ada@example.com")
    session = TokenSession.objects.get()
    assert session.transport == "cookie"
    assert session.amr == ["pk"]
    cookie = refresh_cookie(page, PLAIN_COOKIE_NAME)
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert "identity_refresh" not in page.evaluate("document.cookie")
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0

    page.reload()

    expect_signed_in_as(page, "ada")
    assert problems == []


def test_passkey_sign_in_without_the_browsers_json_helpers(
    page, account, password, authenticator
):
    """The app's base64url fallback, for browsers older than
    parseRequestOptionsFromJSON and toJSON."""
    page.add_init_script(
        "delete PublicKeyCredential.parseRequestOptionsFromJSON;"
        "delete PublicKeyCredential.prototype.toJSON;"
    )
    with_a_passkey(page, password)
    page.goto(SPA)
    assert page.evaluate(
        "typeof PublicKeyCredential.parseRequestOptionsFromJSON"
        " + typeof PublicKeyCredential.prototype.toJSON"
    ) == ("undefined" * 2)

    page.get_by_role("button", name="Sign in with a passkey").click()

    expect_signed_in_as(page, "ada")
    assert TokenSession.objects.get().amr == ["pk"]


def test_a_password_then_a_passkey_as_second_factor(
    page, snap, account, password, authenticator, problems
):
    with_a_passkey(page, password)
    page.goto(SPA)

    sign_in_with_password(page, "ada", password)
    expect(page.get_by_role("status")).to_have_text(
        "Use your passkey, or enter a recovery code."
    )
    snap("example_spa_mfa_passkey")
    page.get_by_role("button", name="Use a passkey").click()

    expect_signed_in_as(page, "ada")
    session = TokenSession.objects.get()
    assert (session.transport, session.amr, session.aal) == ("cookie", ["pwd", "pk"], 2)
    page.reload()
    expect_signed_in_as(page, "ada")
    assert problems == []


def test_a_device_without_the_passkey_is_told_so(
    page, account, password, authenticator
):
    with_a_passkey(page, password)
    authenticator.forget_passkeys()
    page.goto(SPA)

    page.get_by_role("button", name="Sign in with a passkey").click()

    expect(page.get_by_role("alert")).to_have_text(
        "No passkey was used: the request was cancelled or timed out, "
        "or this device has no passkey for this service."
    )
    expect_signed_out(page)
    assert not TokenSession.objects.exists()


def test_without_webauthn_the_page_offers_no_passkey(page, transactional_db):
    page.add_init_script("delete window.PublicKeyCredential")
    page.goto(SPA)

    expect_signed_out(page)
    expect(page.get_by_role("button", name="Sign in with a passkey")).to_be_hidden()
    expect(
        page.get_by_text("This browser does not support passkeys: sign in with")
    ).to_be_visible()
