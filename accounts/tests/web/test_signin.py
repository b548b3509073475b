import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from accounts import devices
from accounts.models import AuthEvent
from accounts.tests.factories import UserFactory


def test_signin_page_renders_with_autocomplete_hints(client, db):
    response = client.get("/accounts/signin/")

    html = response.content.decode()
    assert response.status_code == 200
    # "webauthn": the browser may offer passkeys in the field's autofill.
    assert 'autocomplete="username webauthn"' in html
    assert 'autocomplete="current-password"' in html


@pytest.mark.parametrize("identifier", ["email", "username"])
def test_signin_with_email_or_username_signs_in_and_goes_home(
    client, user, password, identifier
):
    response = client.post(
        "/accounts/signin/",
        {"username": getattr(user, identifier).upper(), "password": password},
    )

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.session["_auth_user_id"] == str(user.pk)
    assert AuthEvent.objects.filter(
        user=user, type=AuthEvent.Type.SIGNIN_SUCCEEDED
    ).exists()


def test_signin_with_a_wrong_password_is_refused_and_keeps_the_identifier(client, user):
    response = client.post(
        "/accounts/signin/",
        {"username": user.email, "password": "not the password at all"},
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == ["Invalid email or password"]
    assert f'value="{user.email}"' in html
    assert "not the password at all" not in html
    assert "_auth_user_id" not in client.session


def test_signin_of_an_unknown_account_gives_the_same_answer(client, db):
    response = client.post(
        "/accounts/signin/",
        {"username": "nobody@example.com", "password": "whatever it is"},
    )

    assert response.context["form"].non_field_errors() == ["Invalid email or password"]


def test_signin_of_a_deleted_account_looks_like_an_unknown_account(
    client, db, password
):
    deleted = UserFactory(deleted_at=timezone.now(), is_active=False)

    response = client.post(
        "/accounts/signin/", {"username": deleted.email, "password": password}
    )

    assert response.context["form"].non_field_errors() == ["Invalid email or password"]
    assert "_auth_user_id" not in client.session


def test_signin_of_an_inactive_account_says_so_after_the_right_password(
    client, db, password
):
    inactive = UserFactory(is_active=False)

    response = client.post(
        "/accounts/signin/", {"username": inactive.email, "password": password}
    )

    assert response.context["form"].non_field_errors() == ["User account is inactive"]
    assert "_auth_user_id" not in client.session


def test_signin_of_an_unverified_account_is_refused_when_verification_is_mandatory(
    client, db, password, settings
):
    settings.EMAIL_VERIFICATION = "mandatory"
    unverified = UserFactory(email_verified=False)

    response = client.post(
        "/accounts/signin/", {"username": unverified.email, "password": password}
    )

    assert response.context["form"].non_field_errors() == ["Email address not verified"]
    assert b'href="/accounts/verify-email/resend/"' in response.content
    assert "_auth_user_id" not in client.session


def test_signin_follows_a_safe_next(client, user, password):
    response = client.post(
        "/accounts/signin/?next=/accounts/profile/",
        {"username": user.email, "password": password},
    )

    assert response["Location"] == "/accounts/profile/"


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example", "/\\evil.example"]
)
def test_signin_refuses_to_redirect_off_site(client, user, password, target):
    response = client.post(
        "/accounts/signin/",
        {"username": user.email, "password": password, "next": target},
    )

    assert response.status_code == 302
    assert response["Location"] == "/"


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example", "/\\evil.example"]
)
def test_signin_page_does_not_carry_an_off_site_next_into_the_form(client, db, target):
    response = client.get("/accounts/signin/", {"next": target})

    assert b"evil.example" not in response.content


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example", "/\\evil.example"]
)
def test_signin_page_sends_a_signed_in_user_home_not_off_site(signed_in_client, target):
    response = signed_in_client.get("/accounts/signin/", {"next": target})

    assert response.status_code == 302
    assert response["Location"] == "/"


def test_protected_pages_send_visitors_to_sign_in_with_next(client, db):
    response = client.get("/accounts/profile/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/signin/?next=/accounts/profile/"


@time_machine.travel("2026-06-01 12:00:20Z", tick=False)  # mid-window: no reset
def test_repeated_failed_signins_are_throttled_with_429(client, user):
    for _ in range(10):
        client.post(
            "/accounts/signin/", {"username": user.email, "password": "wrong guess"}
        )

    response = client.post(
        "/accounts/signin/", {"username": user.email, "password": "wrong guess"}
    )

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Too many attempts" in response.context["form"].non_field_errors()[0]


def page_signin(identifier, password, ip, client=None):
    client = client or Client(REMOTE_ADDR=ip)
    return client.post(
        "/accounts/signin/", {"username": identifier, "password": password}
    )


@time_machine.travel("2026-06-01 12:00:20Z", tick=False)
def test_strangers_guessing_from_two_addresses_do_not_lock_the_owner_s_browser_out(
    db, password
):
    owner = UserFactory()
    browser = Client(REMOTE_ADDR="192.0.2.50")
    assert page_signin(owner.email, password, None, browser).status_code == 302
    browser.post("/accounts/signout/")
    for ip in ("203.0.113.1", "203.0.113.2"):
        for _ in range(11):
            page_signin(owner.email, "wrong password", ip)

    stranger = page_signin(owner.email, password, "192.0.2.51")
    own_browser = page_signin(owner.email, password, None, browser)

    assert stranger.status_code == 429
    assert int(stranger["Retry-After"]) <= 15 * 60
    assert own_browser.status_code == 302
    assert browser.session["_auth_user_id"] == str(owner.pk)


def test_page_signin_sets_the_device_cookie_only_on_success(db, password):
    owner = UserFactory()

    failed = page_signin(owner.email, "wrong password", "192.0.2.1")
    succeeded = page_signin(owner.email, password, "192.0.2.1")

    assert devices.COOKIE_NAME not in failed.cookies
    cookie = succeeded.cookies[devices.COOKIE_NAME]
    assert cookie["httponly"] and cookie["secure"] and cookie["samesite"] == "Lax"
    assert devices.vouches_for(cookie.value, owner)
