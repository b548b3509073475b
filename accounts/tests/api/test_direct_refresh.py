"""The refresh answered without DRF's dispatch (accounts.api.direct, issue
18): the answer DRF gives, its errors included, and DRF's own answer for any
body or header out of the usual. `production` removes the throttle classes, as
THROTTLE_RATES=off does at start-up."""

import json

import pytest
from django.test import Client

from accounts.api.views import RefreshApi
from accounts.models import TokenSession
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import ME, REFRESH, sign_in

pytestmark = pytest.mark.django_db

PER_RESPONSE = {"X-Request-ID", "Content-Length"}
DRF_ACCEPT = {"HTTP_ACCEPT": "application/json; q=0.9"}


@pytest.fixture
def production(monkeypatch):
    monkeypatch.setattr(RefreshApi, "throttle_classes", [])


def _refresh(body, content_type="application/json", **headers):
    data = body if isinstance(body, str) else json.dumps(body)
    return Client().post(REFRESH, data, content_type=content_type, **headers)


def _direct(response) -> bool:
    # DRF's dispatch hands its renderer the view; the direct answer does not.
    return "view" not in response.renderer_context


def _headers(response) -> dict:
    return {k: v for k, v in response.headers.items() if k not in PER_RESPONSE}


def _works(access_token) -> bool:
    return (
        Client().get(ME, HTTP_AUTHORIZATION=f"Bearer {access_token}").status_code == 200
    )


def test_a_rotation_answers_as_drf_does(production):
    first = sign_in(UserFactory())
    second = sign_in(UserFactory())

    direct = _refresh({"refresh_token": first["refresh_token"]})
    by_drf = _refresh({"refresh_token": second["refresh_token"]}, **DRF_ACCEPT)

    assert _direct(direct) and not _direct(by_drf)
    assert direct.status_code == by_drf.status_code == 200
    assert _headers(direct) == _headers(by_drf)
    assert direct["Cache-Control"] == "no-store"
    body = direct.json()
    assert list(body) == list(by_drf.json())
    assert _works(body["access_token"])
    again = _refresh({"refresh_token": body["refresh_token"]})
    assert again.status_code == 200 and _direct(again)


def test_reuse_revokes_everything_and_answers_drfs_error(production):
    user = UserFactory()
    tokens = sign_in(user)
    other_session = sign_in(user)
    rotated = _refresh({"refresh_token": tokens["refresh_token"]})
    assert rotated.status_code == 200

    # Past the two-tab grace, the old token again: theft.
    TokenSession.objects.filter(user=user).update(rotated_at="2000-01-01T00:00:00Z")
    reused = _refresh({"refresh_token": tokens["refresh_token"]})
    expected = _refresh({"refresh_token": "not-a-token"}, **DRF_ACCEPT)

    assert reused.status_code == 401
    assert not TokenSession.objects.filter(user=user, revoked_at__isnull=True).exists()
    assert not _works(other_session["access_token"])
    assert set(reused.json()) == set(expected.json())
    assert _headers(reused).keys() == _headers(expected).keys()


def test_two_tabs_within_the_grace_get_the_conflict(production):
    tokens = sign_in(UserFactory())
    assert _refresh({"refresh_token": tokens["refresh_token"]}).status_code == 200

    conflict = _refresh({"refresh_token": tokens["refresh_token"]})

    assert conflict.status_code == 409
    assert conflict.json()["code"] == "refresh_conflict"


@pytest.mark.parametrize("token", ["not-a-token", "a" * 4096])
def test_a_bad_token_gets_the_same_401_both_ways(production, token):
    direct = _refresh({"refresh_token": token})
    by_drf = _refresh({"refresh_token": token}, **DRF_ACCEPT)

    assert direct.status_code == by_drf.status_code == 401
    assert direct.content == by_drf.content
    assert _headers(direct) == _headers(by_drf)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"refresh_token": "x", "extra": 1}, 400),
        ({}, 400),
        ({"refresh_token": ""}, 400),
        ({"refresh_token": 5}, 401),
        ({"refresh_token": "a" * 4097}, 400),
        ("[1, 2]", 400),
        ("{not json", 400),
    ],
)
def test_anything_else_in_the_body_is_drfs_to_answer(production, body, status):
    response = _refresh(body)

    assert response.status_code == status
    assert not _direct(response)


def test_a_token_with_spaces_around_is_trimmed_by_drf(production):
    tokens = sign_in(UserFactory())

    response = _refresh({"refresh_token": f"  {tokens['refresh_token']} "})

    assert response.status_code == 200 and not _direct(response)


def test_the_cookie_transport_and_other_content_types_go_to_drf(production):
    tokens = sign_in(UserFactory())

    header = _refresh(
        {"refresh_token": tokens["refresh_token"]}, HTTP_X_TOKEN_TRANSPORT="body"
    )
    charset = _refresh(
        {"refresh_token": header.json()["refresh_token"]},
        content_type="application/json; charset=utf-8",
    )

    assert header.status_code == 200 and not _direct(header)
    assert charset.status_code == 200 and not _direct(charset)


def test_with_the_default_throttles_the_refresh_is_still_answered_directly():
    # The per-user rate passes anonymous calls; the refresh's own limits are
    # the service's, counted the same on both paths.
    tokens = sign_in(UserFactory())

    response = _refresh({"refresh_token": tokens["refresh_token"]})

    assert response.status_code == 200 and _direct(response)
