import pytest
from django.test import Client

from accounts.tests.helpers import browser_signed_in


@pytest.fixture
def signed_in_client(client, user):
    """Signed in through the sign-in form, as a browser is."""
    return browser_signed_in(user, client=client)


@pytest.fixture
def csrf_client():
    """A client that, like a browser, is held to Django's CSRF checks."""
    return Client(enforce_csrf_checks=True)
