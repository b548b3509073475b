import pytest
from django.conf import settings
from rest_framework.test import APIClient

from accounts.tests.factories import PASSWORD, UserFactory

# Test-only settings, applied before any test runs: a fast hasher (every hasher
# that production accepts stays listed so imported hashes still verify), tasks
# run inline, and per-process memory for cache and static files.
settings.PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    *settings.PASSWORD_HASHERS,
]
settings.TASKS = {
    "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}
}
settings.CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}
settings.STORAGES = {
    **settings.STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
settings.SECURE_SSL_REDIRECT = False
settings.SITE_URL = "https://id.example.com"


@pytest.fixture(autouse=True)
def _clean_cache():
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def password():
    return PASSWORD


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def tokens(api_client, user, password):
    """A signed-in user's token response."""
    response = api_client.post(
        "/api/v1/auth/signin",
        {"email": user.email, "password": password},
        format="json",
    )
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def auth_api_client(tokens):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    return client
