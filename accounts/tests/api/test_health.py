"""GET /api/v1/health: what a load balancer or orchestrator probes."""

import os

import pytest

from accounts.tests.helpers import HEALTH, UNREACHABLE_REDIS, redis_cache


@pytest.mark.django_db
def test_health_answers_ok_when_database_and_cache_answer(api_client):
    response = api_client.get(HEALTH)

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "cache": "ok"}


@pytest.mark.django_db
def test_health_ignores_a_stale_bearer_token(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")

    response = api_client.get(HEALTH)

    assert response.status_code == 200


@pytest.mark.django_db
def test_health_answers_503_naming_the_database_when_it_is_unreachable(
    api_client, database_down
):
    response = api_client.get(HEALTH)

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "database": "unavailable",
        "cache": "ok",
    }


@pytest.mark.django_db
def test_health_answers_503_naming_the_cache_when_it_is_unreachable(
    api_client, settings
):
    settings.CACHES = redis_cache(UNREACHABLE_REDIS)

    response = api_client.get(HEALTH)

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "database": "ok",
        "cache": "unavailable",
    }


@pytest.mark.django_db
def test_health_answers_ok_with_a_reachable_redis_cache(api_client, settings):
    # The suite needs the local Redis (CI starts it); REDIS_TEST_URL overrides.
    settings.CACHES = redis_cache(
        os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/15")
    )

    response = api_client.get(HEALTH)

    assert response.status_code == 200
    assert response.json()["cache"] == "ok"
