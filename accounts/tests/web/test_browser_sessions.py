"""Browser sign-ins on the security page: listed, named, and revocable one by one."""

from datetime import timedelta

import time_machine
from django.conf import settings
from django.test import Client
from django.utils import timezone

from accounts import services
from accounts.models import BrowserSession, TokenSession, User
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import bearer_client, browser_signed_in, two_factors
from accounts.web.display import describe_device

CHROME_ON_LINUX = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
FIREFOX_ON_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
)


def two_browsers(user):
    first = browser_signed_in(user, client=Client(HTTP_USER_AGENT=CHROME_ON_LINUX))
    second = browser_signed_in(user, client=Client(HTTP_USER_AGENT=FIREFOX_ON_WINDOWS))
    return first, second


def test_devices_are_named_by_ua_parser():
    assert describe_device(CHROME_ON_LINUX) == "Chrome on Linux"
    assert describe_device(FIREFOX_ON_WINDOWS) == "Firefox on Windows"
    assert describe_device("ada-cli/1.2 (python-requests)") == "ada-cli/1.2"
    assert describe_device("") == "Unknown device"


def test_security_page_lists_both_browsers_and_marks_this_one(user):
    first, _second = two_browsers(user)

    response = first.get("/accounts/security/")

    browsers = {b.device: b.current for b in response.context["browser_sessions"]}
    assert browsers == {"Chrome on Linux": True, "Firefox on Windows": False}
    assert b"This browser" in response.content


def test_revoking_a_browser_signs_it_out_on_its_next_request(user):
    first, second = two_browsers(user)
    other = BrowserSession.objects.get(user=user, user_agent=FIREFOX_ON_WINDOWS)

    response = first.post(f"/accounts/security/browsers/{other.pk}/revoke/")

    assert response["Location"] == "/accounts/security/"
    assert first.get("/accounts/profile/").status_code == 200
    answer = second.get("/accounts/profile/")
    assert answer.status_code == 302
    assert answer["Location"].startswith("/accounts/signin/")
    other.refresh_from_db()
    assert other.revoked_at is not None
    listed = first.get("/accounts/security/").context["browser_sessions"]
    assert [b.device for b in listed] == ["Chrome on Linux"]


def test_revoking_another_users_browser_is_not_found_and_changes_nothing(user):
    stranger = UserFactory()
    theirs = browser_signed_in(stranger, client=Client())
    mine = browser_signed_in(user, client=Client())
    target = BrowserSession.objects.get(user=stranger)

    response = mine.post(f"/accounts/security/browsers/{target.pk}/revoke/")

    assert response.status_code == 404
    target.refresh_from_db()
    assert target.revoked_at is None
    assert theirs.get("/accounts/profile/").status_code == 200


def test_sign_out_everywhere_else_keeps_this_browser_only(user, tokens):
    first, second = two_browsers(user)
    api = bearer_client(tokens["access_token"])

    response = first.post("/accounts/security/sign-out-everywhere-else/")

    assert response["Location"] == "/accounts/security/"
    assert first.get("/accounts/profile/").status_code == 200
    assert second.get("/accounts/profile/").status_code == 302
    assert api.get("/api/v1/users/me").status_code == 401
    assert not TokenSession.objects.filter(user=user, revoked_at=None).exists()
    live = BrowserSession.objects.filter(user=user, revoked_at=None)
    assert [b.user_agent for b in live] == [CHROME_ON_LINUX]


def test_signing_out_ends_the_browser_session(user):
    first, _second = two_browsers(user)

    first.post("/accounts/signout/")

    ended = BrowserSession.objects.get(user_agent=CHROME_ON_LINUX)
    assert ended.revoked_at is not None


def test_an_ordinary_page_costs_no_extra_query(user, django_assert_num_queries):
    first, _second = two_browsers(user)
    first.get("/accounts/profile/")

    # The session row and the user row, as before browser sessions existed.
    with django_assert_num_queries(2):
        assert first.get("/accounts/profile/").status_code == 200


def test_a_revoked_browser_stays_signed_out_after_api_entries_are_pruned(user):
    first, second = two_browsers(user)
    other = BrowserSession.objects.get(user=user, user_agent=FIREFOX_ON_WINDOWS)
    first.post(f"/accounts/security/browsers/{other.pk}/revoke/")
    later = timezone.now() + timedelta(minutes=settings.ACCESS_TOKEN_EXPIRE_MINUTES + 2)

    with time_machine.travel(later):
        # Any later revocation rewrites (and prunes) the list.
        services.revoke_browser_session(
            user=User.objects.get(pk=user.pk),
            browser_session_id=services.start_browser_session(user=user),
        )
        answer = second.get("/accounts/profile/")

    assert answer.status_code == 302
    assert f"browser:{other.pk}" in User.objects.get(pk=user.pk).revoked_sessions


def test_a_revoked_browser_entry_is_pruned_after_the_maximum_session_age(user):
    services.revoke_browser_session(
        user=user, browser_session_id=services.start_browser_session(user=user)
    )
    later = timezone.now() + timedelta(days=settings.SESSION_MAX_AGE_DAYS, hours=1)

    with time_machine.travel(later):
        kept = services.start_browser_session(user=user)
        services.revoke_browser_session(user=user, browser_session_id=kept)

    assert list(User.objects.get(pk=user.pk).revoked_sessions) == [f"browser:{kept}"]


def test_signing_up_records_the_browser(db):
    browser = Client(HTTP_USER_AGENT=CHROME_ON_LINUX)
    browser.post(
        "/accounts/signup/",
        {
            "email": "new@example.com",
            "username": "newcomer",
            "password": "a long enough passphrase",
            "password_confirmation": "a long enough passphrase",
        },
    )

    listed = browser.get("/accounts/security/").context["browser_sessions"]
    assert [(b.device, b.current) for b in listed] == [("Chrome on Linux", True)]


def test_events_caused_by_staff_show_the_role_not_their_device_or_address(
    user, superuser
):
    staff_client = services.Client(ip="203.0.113.77", user_agent=FIREFOX_ON_WINDOWS)
    services.deactivate_user(
        actor=superuser,
        user=user,
        assurance=two_factors(),
        client=staff_client,
    )
    services.activate_user(
        actor=superuser,
        user=User.objects.get(pk=user.pk),
        assurance=two_factors(),
        client=staff_client,
    )
    browser = browser_signed_in(
        User.objects.get(pk=user.pk), client=Client(HTTP_USER_AGENT=CHROME_ON_LINUX)
    )

    page = browser.get("/accounts/security/").content.decode()

    assert "203.0.113.77" not in page
    assert "Firefox on Windows" not in page
    assert page.count("By staff") == 2
    assert "Chrome on Linux · 127.0.0.1" in page
