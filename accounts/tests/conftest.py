import re

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.db import OperationalError, connection
from django.test import override_settings
from rest_framework.test import APIClient

from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.helpers import (
    api_client_signed_in_as,
    bearer_client,
    browser_signed_in,
    sign_in,
)

# Test-only settings for the whole run: a fast hasher (every hasher production
# accepts stays listed, so imported hashes still verify), tasks run inline, and
# per-process memory for cache and static files. override_settings (not plain
# assignment) so that caches built at start-up (task backends, hashers) reset.
override_settings(
    PASSWORD_HASHERS=[
        "django.contrib.auth.hashers.MD5PasswordHasher",
        *settings.PASSWORD_HASHERS,
    ],
    TASKS={"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}},
    CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
    STORAGES={
        **settings.STORAGES,
        "staticfiles": {
            "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        },
    },
    SECURE_SSL_REDIRECT=False,
    ALLOWED_HOSTS=["testserver", "localhost", "127.0.0.1"],
    SITE_URL="https://id.example.com",
    # As production requires: a JWT key of its own, not the SECRET_KEY.
    JWT_SIGNING_KEY="test-only-jwt-signing-key-" + "j" * 32,
    # Production requires a second factor of staff; the tests of other flows
    # sign staff in with a password alone. Confinement tests set it themselves.
    MFA_REQUIRED="none",
).enable()


@pytest.fixture(autouse=True)
def _clean_cache():
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
def superuser(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def staff(db):
    """Staff who are not superusers, holding every permission there is: what
    they are refused, the staff-scope rule alone refuses."""
    clerk = UserFactory(username="clerk", is_staff=True)
    clerk.user_permissions.set(Permission.objects.all())
    return clerk


@pytest.fixture
def superuser_client(superuser):
    """The browser door (admin and pages) signed in as `superuser`, through the
    admin's login form: a real sign-in, so staff writes see a recent one."""
    return browser_signed_in(superuser, admin=True)


@pytest.fixture
def staff_client(staff):
    """The browser door (admin and pages) signed in as `staff` (admin login)."""
    return browser_signed_in(staff, admin=True)


@pytest.fixture
def superuser_api_client(superuser):
    return api_client_signed_in_as(superuser)


@pytest.fixture
def staff_api_client(staff):
    return api_client_signed_in_as(staff)


@pytest.fixture
def tokens(api_client, user, password):
    """A signed-in user's token response."""
    return sign_in(user, password, client=api_client)


@pytest.fixture
def auth_api_client(tokens):
    return bearer_client(tokens["access_token"])


@pytest.fixture
def database_down(monkeypatch):
    """The database refuses connections, as when its server is stopped."""

    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "ensure_connection", refuse)


def pytest_collection_modifyitems(config, items):
    """Scale tests seed a million rows: they run only when `-m` names them.
    (`-m "not browser"` replaces pytest.ini's `-m "not scale"`, so the marker
    expression alone would let them ride along with an ordinary run.)"""
    if re.search(r"(?<!not )\bscale\b", config.getoption("markexpr") or ""):
        return
    scale = [item for item in items if item.get_closest_marker("scale")]
    if scale:
        config.hook.pytest_deselected(items=scale)
        items[:] = [item for item in items if not item.get_closest_marker("scale")]
