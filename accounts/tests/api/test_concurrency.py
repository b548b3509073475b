import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import AuthEvent, TokenSession, User
from accounts.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def race(bodies):
    """POST every body to signup at the same moment, each on its own connection."""
    barrier = threading.Barrier(len(bodies))
    statuses = []

    def post(body):
        try:
            barrier.wait()
            response = APIClient().post("/api/v1/auth/signup", body, format="json")
            statuses.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_simultaneous_signups_with_one_email_create_exactly_one_account():
    bodies = [
        {
            "email": "ADA@example.com" if i % 2 else "ada@example.com",
            "username": f"ada{i}",
            "password": "correct horse battery staple",
        }
        for i in range(6)
    ]

    results = race(bodies)

    codes = sorted(code for code, _ in results)
    assert codes == [201] + [400] * 5
    assert all(
        body == {"email": ["Email already registered"]}
        for code, body in results
        if code == 400
    )
    assert User.objects.count() == 1


def test_simultaneous_signups_with_usernames_equal_ignoring_case_create_one_account():
    bodies = [
        {
            "email": f"ada{i}@example.com",
            "username": "Ada" if i % 2 else "aDA",
            "password": "correct horse battery staple",
        }
        for i in range(6)
    ]

    results = race(bodies)

    assert sorted(code for code, _ in results) == [201] + [400] * 5
    assert User.objects.count() == 1


def test_two_tabs_refreshing_one_cookie_at_once_get_one_rotation_and_conflicts():
    """The row lock makes simultaneous refreshes of one token take turns: one
    rotates, the others see a token superseded a moment ago (409), and nobody
    is mistaken for a thief."""
    user = UserFactory()
    tab = APIClient()
    cookie = {
        "HTTP_X_TOKEN_TRANSPORT": "cookie",
        "HTTP_ORIGIN": "https://id.example.com",
    }
    signed_in = tab.post(
        "/api/v1/auth/signin",
        {"email": user.email, "password": PASSWORD},
        format="json",
        **cookie,
    )
    token = signed_in.cookies["__Host-identity_refresh"].value
    barrier = threading.Barrier(4)
    statuses = []

    def refresh():
        try:
            other_tab = APIClient()
            other_tab.cookies["__Host-identity_refresh"] = token
            barrier.wait()
            response = other_tab.post(
                "/api/v1/auth/token/refresh", {}, format="json", **cookie
            )
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=refresh) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200, 409, 409, 409]
    assert not AuthEvent.objects.filter(type="token_reuse").exists()
    assert TokenSession.objects.filter(revoked_at__isnull=True).count() == 1


def test_one_body_refresh_token_sent_at_once_by_four_parties_rotates_once():
    user = User.objects.create_user(
        "grace", "grace@example.com", "correct horse battery staple"
    )
    tokens = (
        APIClient()
        .post(
            "/api/v1/auth/signin",
            {"email": user.email, "password": "correct horse battery staple"},
            format="json",
        )
        .json()
    )
    barrier = threading.Barrier(4)
    results = []

    def refresh():
        try:
            barrier.wait()
            response = APIClient().post(
                "/api/v1/auth/token/refresh",
                {"refresh_token": tokens["refresh_token"]},
                format="json",
            )
            results.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=refresh) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # One party rotates; the others present a token superseded a moment ago:
    # a conflict (409), not theft, so nothing is revoked.
    assert sorted(results) == [200, 409, 409, 409]
    user.refresh_from_db()
    assert user.token_generation == 0
    assert user.token_sessions.filter(revoked_at__isnull=True).count() == 1
