"""Chromium (Debian's, never a downloaded one) driven by Playwright against
pytest-django's live_server.

The live server listens on http://localhost:<port>. The test settings have DEBUG
off, so cookies are Secure and `__Host-` prefixed, as in production: Chromium
accepts Secure cookies from http://localhost (a secure context), so nothing is
relaxed for these tests.
"""

import os
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from accounts.tests.browser.virtual_authenticator import VirtualAuthenticator
from accounts.tests.factories import UserFactory

# Playwright's sync API runs an event loop in this thread; Django's ORM calls
# from the test body are still plain synchronous calls.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server, mailoutbox):
    context = browser.new_context(base_url=live_server.url, viewport=DESKTOP)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def account(transactional_db):
    return UserFactory(username="ada", email="ada@example.com")


@pytest.fixture
def snap(page):
    """Save a full-page screenshot at desktop and phone widths."""
    ARTIFACTS.mkdir(exist_ok=True)

    def snap(name: str) -> None:
        for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            page.set_viewport_size(viewport)
            # Grow the window to the page rather than use full_page, which
            # sometimes keeps the previous height after a resize.
            height = page.evaluate("document.documentElement.scrollHeight")
            page.set_viewport_size(
                {**viewport, "height": max(height, viewport["height"])}
            )
            page.screenshot(path=ARTIFACTS / f"{name}-{label}.png")
        page.set_viewport_size(DESKTOP)

    return snap


@pytest.fixture
def passkey_site(settings, live_server):
    """The rp id is the live server's host, localhost (see
    virtual_authenticator.py)."""
    settings.SITE_URL = live_server.url


@pytest.fixture
def authenticator(page, passkey_site):
    """A virtual passkey authenticator in the page's browser context."""
    return VirtualAuthenticator.add_to(page)
