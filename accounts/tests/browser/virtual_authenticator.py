"""Chromium's DevTools virtual authenticator, and the journey that gives Ada a
passkey through the site's two-factor page, for every browser test that
needs one (the `authenticator` fixture is in conftest.py).

Browsers allow WebAuthn on http://localhost (a secure context) with the rp id
"localhost": the fixture makes SITE_URL the live server's address.
"""

from dataclasses import dataclass

from playwright.sync_api import expect

from accounts.tests.helpers import browser_sign_in

# A CTAP2 platform authenticator with user verification that answers at once.
PLATFORM_AUTHENTICATOR = {
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
    "automaticPresenceSimulation": True,
}


@dataclass
class VirtualAuthenticator:
    cdp: object
    authenticator_id: str

    @classmethod
    def add_to(cls, page) -> "VirtualAuthenticator":
        cdp = page.context.new_cdp_session(page)
        cdp.send("WebAuthn.enable")
        added = cdp.send(
            "WebAuthn.addVirtualAuthenticator", {"options": PLATFORM_AUTHENTICATOR}
        )
        return cls(cdp, added["authenticatorId"])

    def credentials(self) -> list[dict]:
        return self.cdp.send(
            "WebAuthn.getCredentials", {"authenticatorId": self.authenticator_id}
        )["credentials"]

    def forget_passkeys(self) -> None:
        self.cdp.send(
            "WebAuthn.clearCredentials", {"authenticatorId": self.authenticator_id}
        )

    def answer_automatically(self, answer: bool) -> None:
        """Whether it answers without a touch: in Chromium it then also answers
        the sign-in page's autofill (conditional) request at once, as a user
        picking the passkey from the username field's list would."""
        self.cdp.send(
            "WebAuthn.setAutomaticPresenceSimulation",
            {"authenticatorId": self.authenticator_id, "enabled": answer},
        )

    def refuse_user_verification(self) -> None:
        self.cdp.send(
            "WebAuthn.setUserVerified",
            {"authenticatorId": self.authenticator_id, "isUserVerified": False},
        )


def sign_out(page) -> None:
    """Out of the site (its header's button)."""
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()


def passkey_names(page):
    return page.locator(".passkeys__name")


def add_passkey(page, name: str) -> None:
    page.goto("/accounts/mfa/")
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Add a passkey").click()


def with_a_passkey(page, password, *, sign_out_after=True) -> None:
    """Ada signs in to the site with her password and adds the passkey "Work
    laptop" (her first factor: the recovery codes page comes first)."""
    browser_sign_in(page, "ada", password)
    add_passkey(page, "Work laptop")
    page.get_by_role("link", name="I have saved them").click()
    expect(passkey_names(page)).to_have_text(["Work laptop"])
    if sign_out_after:
        sign_out(page)
