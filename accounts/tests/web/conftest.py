import pytest
from django.test import Client


@pytest.fixture
def signed_in_client(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def csrf_client():
    """A client that, like a browser, is held to Django's CSRF checks."""
    return Client(enforce_csrf_checks=True)
