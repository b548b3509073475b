"""Schemathesis fuzzing of every API operation, in-process through WSGI, with a
fixed seed and a bounded number of examples: zero 5xx, every response matching
the OpenAPI schema the service publishes."""

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis import checks as st_checks

from accounts import services
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import PROVED

pytestmark = pytest.mark.slow

schema = schemathesis.openapi.from_wsgi(
    "/api/schema/?format=json", get_wsgi_application()
)


CHECKS = [
    st_checks.not_a_server_error,
    st_checks.status_code_conformance,
    st_checks.content_type_conformance,
    st_checks.response_schema_conformance,
]


@pytest.fixture(autouse=True)
def _in_process(settings):
    """No throttling, and keep the test's database connection open across calls
    (Django's test client does the same: a real request end closes it)."""
    settings.THROTTLE_RATES = "off"
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def bearer(db):
    return services.start_api_session(
        user=UserFactory(is_staff=True), assurance=PROVED
    ).access_token


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_without_token_never_fails_and_matches_its_schema(case):
    case.call_and_validate(checks=CHECKS)


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_with_a_staff_token_never_fails_and_matches_its_schema(case, bearer):
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {bearer}"}

    case.call_and_validate(checks=CHECKS)
