import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import User

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


def test_one_refresh_token_sent_at_once_by_two_parties_rotates_at_most_once():
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

    # One party at most gets a new pair; the others are the reuse it is.
    assert results.count(200) <= 1
    assert all(status in (200, 401) for status in results)
    user.refresh_from_db()
    assert user.token_generation >= 1
    assert not user.token_sessions.filter(revoked_at__isnull=True).exists()
