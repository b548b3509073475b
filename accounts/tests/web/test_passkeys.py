"""Passkeys on the pages, driven with the test client and a software
authenticator (accounts.tests.webauthn_authenticator) in place of the browser:
options come as JSON, the answer goes back as the page's form would post it.

Registration from /accounts/mfa/ (recent sign-in, first factor brings the
recovery codes, confined sessions need the emailed code), passwordless
sign-in, the second factor, reauthentication, renaming and removing; every
challenge bound to the browser session that asked for it."""

import json
import re
import time

import pytest
import time_machine
from django.test import Client

from accounts.assurance import SESSION_KEY
from accounts.models import Authenticator, AuthEvent, BrowserSession, RecoveryCode
from accounts.request_assurance import BROWSER_SESSION_KEY
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.helpers import (
    MFA_PAGE,
    REAUTHENTICATE_PAGE,
    SIGNIN_MFA_PAGE,
    SIGNIN_PAGE,
    browser_signed_in,
    emailed_code,
    enable_totp,
    messages_of,
    stale_by,
)
from accounts.tests.webauthn_authenticator import SoftwareAuthenticator

pytestmark = pytest.mark.django_db

ORIGIN = "https://id.example.com"  # the test settings' SITE_URL
REGISTER_OPTIONS = "/accounts/mfa/passkeys/options/"
ADD = "/accounts/mfa/passkeys/"
SIGNIN_OPTIONS = "/accounts/signin/passkey/options/"
SIGNIN_WITH_PASSKEY = "/accounts/signin/passkey/"
MFA_OPTIONS = "/accounts/signin/mfa/passkey/options/"
MFA_WITH_PASSKEY = "/accounts/signin/mfa/passkey/"
REAUTH_OPTIONS = "/accounts/reauthenticate/passkey/options/"
REAUTH_WITH_PASSKEY = "/accounts/reauthenticate/passkey/"
ENROL_CODE_PAGE = "/accounts/mfa/enrol-code/"
SHOWN_CODE = re.compile(r"<code>([A-Z2-9]{5}-[A-Z2-9]{5})</code>")


def rename_page(passkey) -> str:
    return f"/accounts/mfa/passkeys/{passkey.pk}/rename/"


def remove_page(passkey) -> str:
    return f"/accounts/mfa/passkeys/{passkey.pk}/remove/"


def options(browser, url, status=200) -> dict:
    response = browser.post(url, {}, content_type="application/json")
    assert response.status_code == status, response.content
    return response.json()


def add_passkey(browser, authenticator, name="Laptop", **fields):
    """What the two-factor page does: options, create(), post the form."""
    answer = options(browser, REGISTER_OPTIONS)
    credential = authenticator.create(answer["options"])
    return browser.post(
        ADD,
        {
            "name": name,
            "challenge_token": answer["challenge_token"],
            "credential": json.dumps(credential),
            **fields,
        },
    )


def assertion_post(
    browser, options_url, answer_url, authenticator, *, data=None, **get
):
    answer = options(browser, options_url)
    credential = authenticator.get(answer["options"], **get)
    return browser.post(
        answer_url,
        {
            "challenge_token": answer["challenge_token"],
            "credential": json.dumps(credential),
            **(data or {}),
        },
    )


def proved(browser) -> dict:
    return browser.session[SESSION_KEY]


def signed_in_as(browser):
    return browser.get("/").wsgi_request.user


@pytest.fixture
def device():
    return SoftwareAuthenticator(origin=ORIGIN)


@pytest.fixture
def browser(user):
    return browser_signed_in(user)


@pytest.fixture
def with_passkey(browser, device, user):
    """`user` has the passkey on `device` (added from the page just now)."""
    response = add_passkey(browser, device)
    assert response.status_code == 200, response.content
    return Authenticator.objects.get(user=user, kind=Authenticator.Kind.PASSKEY)


# Adding ------------------------------------------------------------------------
def test_the_first_passkey_shows_the_recovery_codes_and_raises_the_session(
    browser, device, user, mailoutbox
):
    other_browser = browser_signed_in(user)

    response = add_passkey(browser, device, name="  Work   laptop ")

    assert response.status_code == 200
    codes = SHOWN_CODE.findall(response.content.decode())
    assert len(codes) == 10
    assert RecoveryCode.objects.filter(user=user).count() == 10
    passkey = Authenticator.objects.get(user=user)
    assert passkey.kind == Authenticator.Kind.PASSKEY
    assert passkey.name == "Work laptop"
    assert messages_of(response) == ["Passkey “Work laptop” added."]
    assert proved(browser)["aal"] == 2
    assert signed_in_as(browser) == user
    # A first factor signs every other browser out.
    assert not signed_in_as(other_browser).is_authenticated
    assert any(
        "Two-factor sign-in was turned on" in message.subject for message in mailoutbox
    )
    assert response["Cache-Control"].count("no-store") == 1


def test_a_second_passkey_brings_no_new_codes(browser, device, with_passkey, user):
    response = add_passkey(browser, SoftwareAuthenticator(origin=ORIGIN), name="")

    assert response.status_code == 302
    assert response["Location"] == MFA_PAGE
    assert RecoveryCode.objects.filter(user=user).count() == 10
    # Unnamed: named after the authenticator's AAGUID where known, else this.
    assert list(
        Authenticator.objects.filter(user=user).values_list("name", flat=True)
    ) == ["Laptop", "Passkey"]


def test_the_page_lists_the_passkeys_with_rename_and_remove(browser, with_passkey):
    html = browser.get(MFA_PAGE).content.decode()

    assert "Laptop" in html
    assert f'action="{rename_page(with_passkey)}"' in html
    assert f'action="{remove_page(with_passkey)}"' in html
    assert 'data-options-url="/accounts/mfa/passkeys/options/"' in html


def test_register_options_exclude_the_accounts_passkeys(browser, with_passkey):
    answer = options(browser, REGISTER_OPTIONS)

    excluded = [c["id"] for c in answer["options"]["excludeCredentials"]]
    assert excluded == [with_passkey.credential_id]
    assert answer["options"]["authenticatorSelection"]["residentKey"] == "required"
    assert answer["options"]["authenticatorSelection"]["userVerification"] == (
        "required"
    )


def test_register_options_need_a_sign_in(client):
    response = client.post(REGISTER_OPTIONS, {}, content_type="application/json")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_register_options_of_a_stale_sign_in_send_the_browser_to_reauthenticate(
    browser,
):
    with time_machine.travel(time.time() + stale_by(), tick=False):
        answer = options(browser, REGISTER_OPTIONS, status=403)

    assert answer["code"] == "reauthentication_required"
    assert answer["redirect"] == f"{REAUTHENTICATE_PAGE}?next=/accounts/mfa/"


def test_adding_when_the_sign_in_went_stale_meanwhile_reauthenticates(
    browser, device, user
):
    answer = options(browser, REGISTER_OPTIONS)
    credential = device.create(answer["options"])

    with time_machine.travel(time.time() + stale_by(), tick=False):
        response = browser.post(
            ADD,
            {
                "challenge_token": answer["challenge_token"],
                "credential": json.dumps(credential),
            },
        )

    assert response.status_code == 302
    assert response["Location"].startswith(REAUTHENTICATE_PAGE)
    assert not Authenticator.objects.filter(user=user).exists()


def test_an_unverified_address_gets_no_register_options(settings, db):
    settings.EMAIL_VERIFICATION = "optional"
    unverified = UserFactory(email_verified=False)
    browser = browser_signed_in(unverified)

    answer = options(browser, REGISTER_OPTIONS, status=409)

    assert answer["code"] == "email_unverified"


def test_an_answer_from_another_site_is_refused_on_the_page(browser, device, user):
    phished = SoftwareAuthenticator(origin="https://id.example.com.evil.test")

    response = add_passkey(browser, phished)

    assert response.status_code == 200
    assert "The passkey could not be verified." in response.content.decode()
    assert not Authenticator.objects.filter(user=user).exists()


def test_a_post_without_an_answer_adds_nothing(browser, user):
    response = browser.post(ADD, {"name": "Laptop", "credential": "not json"})

    assert response.status_code == 200
    assert "The passkey could not be verified." in response.content.decode()
    assert not Authenticator.objects.filter(user=user).exists()


def test_a_challenge_of_another_browser_session_is_refused(user, device):
    first, second = browser_signed_in(user), browser_signed_in(user)
    answer = options(first, REGISTER_OPTIONS)

    response = second.post(
        ADD,
        {
            "challenge_token": answer["challenge_token"],
            "credential": json.dumps(device.create(answer["options"])),
        },
    )

    assert response.status_code == 200
    assert "The passkey could not be verified." in response.content.decode()
    assert not Authenticator.objects.filter(user=user).exists()


def test_a_confined_session_adds_its_first_passkey_with_the_emailed_code(
    settings, device, mailoutbox
):
    settings.MFA_REQUIRED = "staff"
    clerk = UserFactory(is_staff=True)
    browser = browser_signed_in(clerk)
    assert "Code from the email" in browser.get(MFA_PAGE).content.decode()
    answer = options(browser, REGISTER_OPTIONS)
    credential = json.dumps(device.create(answer["options"]))
    fields = {"challenge_token": answer["challenge_token"], "credential": credential}

    missing = browser.post(ADD, fields)
    browser.post(ENROL_CODE_PAGE)
    wrong = browser.post(ADD, {**fields, "email_code": "AAAAAA"})
    # The answer is kept in the page: no second passkey on the device.
    assert "Invalid or expired code" in wrong.content.decode()
    assert answer["challenge_token"] in wrong.content.decode()
    right = browser.post(ADD, {**fields, "email_code": emailed_code(mailoutbox[-1])})

    assert "Enter the code we emailed you" in missing.content.decode()
    assert right.status_code == 200
    assert len(SHOWN_CODE.findall(right.content.decode())) == 10
    assert Authenticator.objects.filter(user=clerk).count() == 1
    # No longer confined: the rest of the site opens.
    assert browser.get("/accounts/profile/").status_code == 200


# Signing in with a passkey alone -----------------------------------------------
def test_signing_in_with_a_passkey_alone(with_passkey, device, user):
    browser = Client()

    response = assertion_post(
        browser,
        SIGNIN_OPTIONS,
        SIGNIN_WITH_PASSKEY,
        device,
        data={"next": "/accounts/security/"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/accounts/security/"
    assert signed_in_as(browser) == user
    assert proved(browser)["amr"] == ["pk"]
    assert proved(browser)["aal"] == 2
    assert BrowserSession.objects.filter(
        pk=browser.session[BROWSER_SESSION_KEY], user=user
    ).exists()
    event = AuthEvent.objects.filter(
        user=user, type=AuthEvent.Type.SIGNIN_SUCCEEDED
    ).latest("created_at")
    assert event.detail["amr"] == ["pk"]


def test_a_passkey_sign_in_never_redirects_off_site(with_passkey, device):
    response = assertion_post(
        Client(),
        SIGNIN_OPTIONS,
        SIGNIN_WITH_PASSKEY,
        device,
        data={"next": "https://evil.example/"},
    )

    assert response["Location"] == "/"


def test_sign_in_options_name_no_account(db):
    answer = options(Client(), SIGNIN_OPTIONS)

    assert answer["options"]["allowCredentials"] == []
    assert answer["options"]["userVerification"] == "required"


def test_the_sign_in_challenge_is_bound_to_the_browser_that_asked(with_passkey, device):
    asked, other = Client(), Client()
    answer = options(asked, SIGNIN_OPTIONS)

    response = other.post(
        SIGNIN_WITH_PASSKEY,
        {
            "challenge_token": answer["challenge_token"],
            "credential": json.dumps(device.get(answer["options"])),
        },
    )

    assert response.status_code == 302
    assert response["Location"] == SIGNIN_PAGE
    assert not signed_in_as(other).is_authenticated
    assert messages_of(response) == [
        "That passkey was not accepted. Try again, or use another way to sign in."
    ]


def test_a_used_answer_cannot_sign_in_again(with_passkey, device):
    browser = Client()
    answer = options(browser, SIGNIN_OPTIONS)
    fields = {
        "challenge_token": answer["challenge_token"],
        "credential": json.dumps(device.get(answer["options"])),
    }
    browser.post(SIGNIN_WITH_PASSKEY, fields)
    browser.post("/accounts/signout/")

    replayed = browser.post(SIGNIN_WITH_PASSKEY, fields)

    assert replayed["Location"] == SIGNIN_PAGE
    assert not signed_in_as(browser).is_authenticated


def test_a_removed_passkey_no_longer_signs_in(with_passkey, device):
    with_passkey.delete()

    response = assertion_post(Client(), SIGNIN_OPTIONS, SIGNIN_WITH_PASSKEY, device)

    assert response["Location"] == SIGNIN_PAGE


def test_an_inactive_account_is_not_signed_in_by_its_passkey(
    with_passkey, device, user
):
    user.is_active = False
    user.save()
    browser = Client()

    response = assertion_post(browser, SIGNIN_OPTIONS, SIGNIN_WITH_PASSKEY, device)

    assert response["Location"] == SIGNIN_PAGE
    assert not signed_in_as(browser).is_authenticated


def test_the_sign_in_page_offers_passkeys_through_its_script(db):
    html = Client().get(SIGNIN_PAGE).content.decode()

    assert 'autocomplete="username webauthn"' in html
    assert re.search(r'<script src="[^"]*js/passkeys\.js" defer></script>', html)
    assert "<script>" not in html
    assert 'data-options-url="/accounts/signin/passkey/options/"' in html
    # Hidden until the script finds that the browser supports passkeys.
    assert re.search(r'<form class="passkey__form"[^>]* hidden>', html)


def test_options_carry_no_store_and_need_the_csrf_token(db):
    browser = Client(enforce_csrf_checks=True)

    refused = browser.post(SIGNIN_OPTIONS, {}, content_type="application/json")
    browser.get(SIGNIN_PAGE)
    token = browser.cookies["__Host-csrftoken"].value
    answered = browser.post(
        SIGNIN_OPTIONS, {}, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )

    assert refused.status_code == 403
    assert answered.status_code == 200
    assert "no-store" in answered["Cache-Control"]


# The second factor -------------------------------------------------------------
def password_step(user) -> Client:
    browser = Client()
    response = browser.post(
        SIGNIN_PAGE, {"username": user.username, "password": PASSWORD}
    )
    assert response["Location"] == SIGNIN_MFA_PAGE
    return browser


def test_a_password_then_the_passkey(with_passkey, device, user):
    browser = password_step(user)
    assert "Use a passkey" in browser.get(SIGNIN_MFA_PAGE).content.decode()

    response = assertion_post(browser, MFA_OPTIONS, MFA_WITH_PASSKEY, device)

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert signed_in_as(browser) == user
    assert proved(browser)["amr"] == ["pwd", "pk"]
    assert proved(browser)["aal"] == 2


def test_second_factor_options_list_only_the_accounts_passkeys(with_passkey, user):
    answer = options(password_step(user), MFA_OPTIONS)

    allowed = [c["id"] for c in answer["options"]["allowCredentials"]]
    assert allowed == [with_passkey.credential_id]


def test_another_accounts_passkey_is_no_second_factor(with_passkey, device, user):
    mallory = UserFactory()
    mallory_device = SoftwareAuthenticator(origin=ORIGIN)
    add_passkey(browser_signed_in(mallory), mallory_device)
    browser = password_step(user)
    answer = options(browser, MFA_OPTIONS)
    # Mallory's authenticator answers with her own passkey.
    credential = mallory_device.get(
        answer["options"], credential=mallory_device.credentials[0]
    )

    response = browser.post(
        MFA_WITH_PASSKEY,
        {
            "challenge_token": answer["challenge_token"],
            "credential": json.dumps(credential),
        },
    )

    assert response["Location"] == SIGNIN_MFA_PAGE
    assert messages_of(response) == ["That passkey could not be verified. Try again."]
    assert not signed_in_as(browser).is_authenticated


def test_second_factor_options_need_a_pending_sign_in(db):
    answer = options(Client(), MFA_OPTIONS, status=401)

    assert answer["redirect"] == SIGNIN_PAGE


def test_an_account_with_only_an_app_is_not_offered_a_passkey(user):
    enable_totp(user)

    html = password_step(user).get(SIGNIN_MFA_PAGE).content.decode()

    assert "Use a passkey" not in html
    assert "passkeys.js" not in html


# Reauthenticating, renaming, removing ------------------------------------------
def test_reauthenticating_with_the_passkey_returns_to_next(
    browser, with_passkey, device
):
    with time_machine.travel(time.time() + stale_by(), tick=False):
        page = browser.get(f"{REAUTHENTICATE_PAGE}?next=/accounts/mfa/")
        assert "Use a passkey" in page.content.decode()

        response = assertion_post(
            browser,
            REAUTH_OPTIONS,
            REAUTH_WITH_PASSKEY,
            device,
            data={"next": "/accounts/mfa/"},
        )
        removed = browser.post(remove_page(with_passkey))

    assert response.status_code == 302
    assert response["Location"] == "/accounts/mfa/"
    assert proved(browser)["amr"][-1] == "pk"
    assert removed["Location"] == MFA_PAGE
    assert not Authenticator.objects.filter(pk=with_passkey.pk).exists()


def test_a_wrong_passkey_does_not_reauthenticate(browser, with_passkey, device):
    stranger = SoftwareAuthenticator(origin=ORIGIN)
    stranger.create(
        {
            "rp": {"id": "id.example.com"},
            "user": {"id": "AAAA"},
            "challenge": "AAAA",
        }
    )

    with time_machine.travel(time.time() + stale_by(), tick=False):
        response = assertion_post(
            browser,
            REAUTH_OPTIONS,
            REAUTH_WITH_PASSKEY,
            stranger,
            data={"next": "/accounts/mfa/"},
            credential=stranger.credentials[0],
        )
        removed = browser.post(remove_page(with_passkey))

    assert response["Location"] == f"{REAUTHENTICATE_PAGE}?next=/accounts/mfa/"
    assert messages_of(response) == ["That passkey could not be verified. Try again."]
    assert removed["Location"].startswith(REAUTHENTICATE_PAGE)
    assert Authenticator.objects.filter(pk=with_passkey.pk).exists()


def test_wrong_passkeys_in_a_row_sign_the_session_out(browser, with_passkey, user):
    stranger = SoftwareAuthenticator(origin=ORIGIN)
    stranger.create(
        {"rp": {"id": "id.example.com"}, "user": {"id": "AAAA"}, "challenge": "AAAA"}
    )

    for _ in range(5):
        response = assertion_post(
            browser,
            REAUTH_OPTIONS,
            REAUTH_WITH_PASSKEY,
            stranger,
            credential=stranger.credentials[0],
        )

    assert response["Location"] == SIGNIN_PAGE
    assert not signed_in_as(browser).is_authenticated


def test_renaming_needs_no_recent_sign_in(browser, with_passkey):
    with time_machine.travel(time.time() + stale_by(), tick=False):
        response = browser.post(rename_page(with_passkey), {"name": " Old  phone "})

    assert response["Location"] == MFA_PAGE
    with_passkey.refresh_from_db()
    assert with_passkey.name == "Old phone"


def test_a_blank_name_is_refused(browser, with_passkey):
    response = browser.post(rename_page(with_passkey), {"name": "   "})

    assert messages_of(response) == ["Give the passkey a name."]
    with_passkey.refresh_from_db()
    assert with_passkey.name == "Laptop"


def test_removing_needs_a_recent_sign_in(browser, with_passkey):
    with time_machine.travel(time.time() + stale_by(), tick=False):
        response = browser.post(remove_page(with_passkey))

    assert response["Location"] == f"{REAUTHENTICATE_PAGE}?next=%2Faccounts%2Fmfa%2F"
    assert Authenticator.objects.filter(pk=with_passkey.pk).exists()


def test_removing_the_last_passkey_removes_the_recovery_codes(
    browser, with_passkey, user
):
    response = browser.post(remove_page(with_passkey))

    assert response["Location"] == MFA_PAGE
    assert messages_of(response) == ["The passkey has been removed."]
    assert not Authenticator.objects.filter(user=user).exists()
    assert not RecoveryCode.objects.filter(user=user).exists()


def test_the_last_factor_stays_while_mfa_is_required(settings, browser, with_passkey):
    settings.MFA_REQUIRED = "all"

    response = browser.post(remove_page(with_passkey))

    assert response["Location"] == MFA_PAGE
    assert "Two-factor authentication is required" in messages_of(response)[0]
    assert Authenticator.objects.filter(pk=with_passkey.pk).exists()


@pytest.mark.parametrize("action", ["rename", "remove"])
def test_another_users_passkey_is_not_found(with_passkey, action):
    mallory = browser_signed_in(UserFactory())

    response = mallory.post(
        f"/accounts/mfa/passkeys/{with_passkey.pk}/{action}/", {"name": "Mine"}
    )

    assert response.status_code == 404
    with_passkey.refresh_from_db()
    assert with_passkey.name == "Laptop"
