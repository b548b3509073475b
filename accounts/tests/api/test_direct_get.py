"""GET /users/me answered without DRF's dispatch (accounts.api.direct, issue
18): the same answer DRF gives, byte for byte, and DRF's own answer for
everything but the usual case. The `production` fixture is the configuration
the benchmark runs (THROTTLE_RATES=off at start-up leaves the views without
throttle classes); the per-user rate, on by default, takes the same path."""

import pytest
from django.test import Client

from accounts.api.views import MeApi
from accounts.models import User
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import ME, PASSWORD, sign_in

pytestmark = pytest.mark.django_db

# Headers that differ between two answers whatever answers them.
PER_RESPONSE = {"X-Request-ID", "Expires"}


@pytest.fixture
def production(monkeypatch):
    monkeypatch.setattr(MeApi, "throttle_classes", [])


def _get(token, **headers):
    return Client().get(ME, HTTP_AUTHORIZATION=f"Bearer {token}", **headers)


def _answered_by_drf(response) -> bool:
    return hasattr(response, "accepted_renderer")


def _headers(response) -> dict:
    return {k: v for k, v in response.headers.items() if k not in PER_RESPONSE}


@pytest.mark.parametrize("accept", [None, "*/*", "application/json"])
def test_the_direct_answer_is_drfs_answer(production, accept):
    user = UserFactory(first_name="Ada", pending_email="ada@new.example.com")
    token = sign_in(user)["access_token"]
    extra = {"HTTP_ACCEPT": accept} if accept else {}

    direct = _get(token, **extra)
    # An Accept header DRF negotiates to the same JSON sends it the long way.
    by_drf = _get(token, HTTP_ACCEPT="application/json; q=0.9")

    assert not _answered_by_drf(direct) and _answered_by_drf(by_drf)
    assert direct.status_code == by_drf.status_code == 200
    assert direct.content == by_drf.content
    assert _headers(direct) == _headers(by_drf)
    assert "no-store" in direct["Cache-Control"]
    assert direct.wsgi_request.user == user


def test_the_per_user_rate_takes_the_direct_path_and_drf_answers_the_429(settings):
    settings.THROTTLE_RATES = "user=3/min"
    token = sign_in(UserFactory())["access_token"]

    allowed = [_get(token) for _ in range(3)]
    refused = _get(token)

    assert [r.status_code for r in allowed] == [200, 200, 200]
    assert not any(_answered_by_drf(response) for response in allowed)
    assert refused.status_code == 429
    assert _answered_by_drf(refused)
    assert 0 < int(refused["Retry-After"]) <= 60
    assert "throttled" in refused.json()["detail"]


def test_a_revocation_refuses_the_next_direct_request_with_drfs_error(production):
    user = UserFactory()
    token = sign_in(user)["access_token"]
    assert _get(token).status_code == 200

    User.objects.filter(pk=user.pk).update(token_generation=user.token_generation + 1)
    response = _get(token)

    assert response.status_code == 401
    assert _answered_by_drf(response)
    assert response.json()["code"] == "token_not_valid"
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer a b", "Basic dXNlcjpwYXNz", "Bearer not-a-jwt"],
)
def test_no_usable_token_gets_drfs_401(production, authorization):
    extra = {"HTTP_AUTHORIZATION": authorization} if authorization else {}

    response = Client().get(ME, **extra)

    assert response.status_code == 401
    assert _answered_by_drf(response)


def test_other_accepts_and_methods_go_to_drf(production):
    user = UserFactory()
    token = sign_in(user)["access_token"]

    html = _get(token, HTTP_ACCEPT="text/html")
    formatted = Client().get(ME + "?format=json", HTTP_AUTHORIZATION=f"Bearer {token}")
    head = Client().head(ME, HTTP_AUTHORIZATION=f"Bearer {token}")
    patch = Client().patch(
        ME,
        {"first_name": "New"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )

    assert html.status_code == 406 and _answered_by_drf(html)
    assert _answered_by_drf(formatted)
    assert head.status_code == 200 and _answered_by_drf(head)
    assert patch.status_code == 200 and patch.json()["first_name"] == "New"


def test_a_confined_session_still_reads_its_account_directly(production, settings):
    settings.MFA_REQUIRED = "all"
    user = UserFactory()
    token = sign_in(user, PASSWORD)["access_token"]

    me = _get(token)
    other = Client().patch(
        ME,
        {"first_name": "New"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )

    assert me.status_code == 200 and not _answered_by_drf(me)
    assert other.status_code == 403
    assert other.json()["code"] == "mfa_setup_required"
