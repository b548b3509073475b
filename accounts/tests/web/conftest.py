import re

import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.test import Client


@pytest.fixture
def signed_in_client(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def csrf_client():
    """A client that, like a browser, is held to Django's CSRF checks."""
    return Client(enforce_csrf_checks=True)


def emailed_path(message) -> str:
    """The path of the site link in an email (SITE_URL stripped, for the client)."""
    match = re.search(re.escape(settings.SITE_URL) + r"(/[^\s\"'<>]+)", message.body)
    assert match, message.body
    return match.group(1)


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def field_errors(response, field) -> list[str]:
    return response.context["form"].errors.get(field, [])
