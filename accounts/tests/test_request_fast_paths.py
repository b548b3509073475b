"""The shortcuts the token-checked request takes (issue 18) must give exactly
what the long way gave: the same account from the precompiled user query, the
same /users/me body as the serializer, the same CSP header as django-csp, and
a revocation still refusing the very next request."""

import subprocess
import sys

import pytest
import time_machine
from csp.utils import build_policy
from django.db import connection
from django.http import HttpResponse
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.cache import add_never_cache_headers

from accounts.api.serializers import MeSerializer
from accounts.compiled_lookup import load_user, move_refresh_jti
from accounts.csp_header import CachedCSPMiddleware
from accounts.middleware import never_cache
from accounts.models import Tier, TokenSession, User
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import get_me, sign_in

pytestmark = pytest.mark.django_db


def _row(user):
    return {
        field.attname: getattr(user, field.attname)
        for field in User._meta.concrete_fields
    }


def test_the_precompiled_query_loads_what_the_orm_loads_with_the_tier():
    tier = Tier.objects.create(name="gold", rate_limit_per_minute=500)
    user = UserFactory(tier=tier, pending_email="new@example.com")
    User.objects.filter(pk=user.pk).update(revoked_sessions={"a": 1})
    expected = User.objects.select_related("tier").get(pk=user.pk)

    with CaptureQueriesContext(connection) as queries:
        loaded = load_user(str(user.pk))
        tier_name = loaded.tier.name

    assert len(queries) == 1
    assert _row(loaded) == _row(expected)
    assert tier_name == "gold"
    assert loaded.revoked_sessions == {"a": 1}
    assert loaded.api_rate_per_minute == 500
    assert not loaded._state.adding and loaded._state.db == "default"


def test_the_precompiled_query_without_tier_or_account():
    user = UserFactory()

    assert load_user(user.pk).tier is None
    assert load_user("00000000-0000-0000-0000-000000000001") is None


def test_a_revocation_written_elsewhere_refuses_the_next_request(client):
    user = UserFactory()
    tokens = sign_in(user)
    assert get_me(client, tokens["access_token"]).status_code == 200

    # Another process's revocation: only the row changes.
    User.objects.filter(pk=user.pk).update(token_generation=user.token_generation + 1)

    assert get_me(client, tokens["access_token"]).status_code == 401


def test_me_renders_what_the_serializer_renders(client):
    tier = Tier.objects.create(name="silver", rate_limit_per_minute=100)
    user = UserFactory(
        tier=tier,
        first_name="Ada",
        pending_email="later@example.com",
        pending_email_requested_at=timezone.now(),
    )
    tokens = sign_in(user)

    body = get_me(client, tokens["access_token"]).json()

    user.refresh_from_db()
    assert body == dict(MeSerializer(user).data)
    assert list(body) == list(MeSerializer(user).data)
    assert body["tier"] == "silver" and body["pending_email"] == "later@example.com"


def _csp_of(response, path="/api/v1/users/me"):
    request = RequestFactory().get(path)
    middleware = CachedCSPMiddleware(lambda request: response)
    return middleware(request)


def test_the_csp_header_is_django_csps_and_follows_the_settings(settings):
    assert _csp_of(HttpResponse())["Content-Security-Policy"] == build_policy()

    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": ["'none'"]}}

    assert _csp_of(HttpResponse())["Content-Security-Policy"] == "default-src 'none'"


def test_a_response_with_its_own_policy_still_gets_it():
    response = HttpResponse()
    response._csp_update = {"style-src": ["'unsafe-inline'"]}

    header = _csp_of(response)["Content-Security-Policy"]

    assert "style-src 'self' 'unsafe-inline'" in header


def _throttle_classes(rates: str) -> str:
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.REST_FRAMEWORK['DEFAULT_THROTTLE_CLASSES'])"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "identity_site.settings",
            "DEBUG": "true",
            "THROTTLE_RATES": rates,
        },
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def test_throttles_off_at_start_up_runs_no_throttle_class():
    assert _throttle_classes("off") == "[]"
    assert "UserRateThrottle" in _throttle_classes("user=5/min")


def test_a_sign_in_reads_the_account_once(client):
    user = UserFactory()

    with CaptureQueriesContext(connection) as queries:
        sign_in(user)

    reads = [
        q["sql"]
        for q in queries
        if q["sql"].startswith("SELECT") and 'FROM "accounts_user"' in q["sql"]
    ]
    assert len(reads) == 1, reads


@pytest.mark.parametrize("expires", [None, "Thu, 01 Jan 2037 00:00:00 GMT"])
def test_no_store_writes_what_djangos_never_cache_writes(expires):
    ours, djangos = HttpResponse(), HttpResponse()
    if expires:
        ours["Expires"] = djangos["Expires"] = expires

    with time_machine.travel("2026-11-30 08:00:00Z", tick=False):
        never_cache(ours)
        add_never_cache_headers(djangos)

    assert dict(ours.headers) == dict(djangos.headers)


def test_the_rotation_update_moves_only_a_live_session_holding_the_jti():
    from datetime import timedelta

    user = UserFactory()
    sign_in(user)
    session = TokenSession.objects.get(user=user)
    now = timezone.now()
    later = now + timedelta(days=1)

    def move(presented, at=now):
        return move_refresh_jti(
            session_pk=session.pk,
            presented_jti=presented,
            new_jti="next",
            now=at,
            expires_at=later,
        )

    assert move("not-the-jti") == 0
    assert move(session.refresh_jti, at=session.expires_at) == 0  # expired
    assert move(session.refresh_jti) == 1
    moved = TokenSession.objects.get(pk=session.pk)
    assert (moved.refresh_jti, moved.previous_jti) == ("next", session.refresh_jti)
    assert moved.rotated_at == moved.last_used_at == now
    assert moved.expires_at == later

    TokenSession.objects.filter(pk=session.pk).update(revoked_at=now)
    assert move("next") == 0  # revoked
