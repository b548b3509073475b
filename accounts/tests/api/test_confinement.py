"""MFA_REQUIRED confines a session that has not proved a second factor: it may
set one up, look at itself and sign out, nothing else (403 mfa_setup_required)."""

import uuid

import pytest
from django.urls import URLPattern, get_resolver

from accounts.api.permissions import NotConfined
from accounts.models import Authenticator
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import (
    CHANGE,
    ME,
    SESSIONS,
    SIGNOUT,
    SIGNOUT_ALL,
    USERS,
    api_client_proving,
    password_only,
    two_factors,
)

ENROL_CODE = "/api/v1/auth/mfa/enrol-code"
MATRIX = [
    (scope, role, aal)
    for scope in ("none", "staff", "all")
    for role in ("staff", "member")
    for aal in (1, 2)
]


def confined_expected(scope, role, aal):
    covered = scope == "all" or (scope == "staff" and role == "staff")
    return covered and aal == 1


def session_of(role, aal):
    user = UserFactory(is_staff=role == "staff")
    return user, api_client_proving(
        user, two_factors() if aal == 2 else password_only()
    )


def refused_as_confined(response) -> bool:
    return response.status_code == 403 and (
        response.json().get("code") == "mfa_setup_required"
    )


@pytest.mark.parametrize(("scope", "role", "aal"), MATRIX)
def test_confined_session_may_still_use_the_allowed_endpoints(
    settings, db, scope, role, aal
):
    settings.MFA_REQUIRED = scope
    user, client = session_of(role, aal)

    me = client.get(ME)
    sessions = client.get(SESSIONS)
    revoke_unknown = client.delete(f"{SESSIONS}/{uuid.uuid4()}")
    enrol_code = client.post(ENROL_CODE)
    signout = client.post(
        SIGNOUT, {"refresh_token": client.refresh_token}, format="json"
    )

    assert me.status_code == 200
    assert me.json()["id"] == str(user.pk)
    assert sessions.status_code == 200
    assert revoke_unknown.status_code == 404
    assert enrol_code.status_code == (
        200 if confined_expected(scope, role, aal) else 409
    )
    assert signout.status_code == 204


@pytest.mark.parametrize(("scope", "role", "aal"), MATRIX)
def test_signout_all_stays_open_to_a_confined_session(settings, db, scope, role, aal):
    settings.MFA_REQUIRED = scope
    _, client = session_of(role, aal)

    response = client.post(SIGNOUT_ALL)

    assert response.status_code == 204


@pytest.mark.parametrize(("scope", "role", "aal"), MATRIX)
def test_everything_else_is_refused_to_a_confined_session_only(
    settings, db, scope, role, aal
):
    settings.MFA_REQUIRED = scope
    user, client = session_of(role, aal)
    member = UserFactory()

    responses = [
        client.patch(ME, {"first_name": "Changed"}, format="json"),
        client.post(CHANGE, {"old_password": "x", "new_password": "y"}, format="json"),
        client.delete(ME, {"password": "x"}, format="json"),
        client.get(f"{USERS}/{member.pk}"),
    ]

    confined = confined_expected(scope, role, aal)
    assert [refused_as_confined(r) for r in responses] == [confined] * 4
    if confined:
        assert responses[0].json() == {
            "detail": "Set up two-factor authentication to continue.",
            "code": "mfa_setup_required",
        }
    user.refresh_from_db()
    assert (user.first_name == "Changed") is not confined


def test_confinement_outlives_the_factor_the_account_gains_meanwhile(settings, db):
    settings.MFA_REQUIRED = "staff"
    user, client = session_of("staff", 1)
    Authenticator.objects.create(user=user, kind=Authenticator.Kind.TOTP)

    response = client.patch(ME, {"first_name": "Changed"}, format="json")

    assert refused_as_confined(response)


def test_superuser_counts_as_staff_for_confinement(settings, db):
    settings.MFA_REQUIRED = "staff"
    root = UserFactory(is_superuser=True)
    client = api_client_proving(root, password_only())

    response = client.get(f"{USERS}/{root.pk}")

    assert refused_as_confined(response)


def _api_views():
    def walk(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLPattern):
                yield pattern
            else:
                yield from walk(pattern.url_patterns)

    resolver = get_resolver()
    for pattern in walk(resolver.url_patterns):
        view_class = getattr(pattern.callback, "view_class", None)
        # Our API views; the schema and its docs are public pages of no account.
        if view_class is not None and view_class.__module__.startswith("accounts.api"):
            yield pattern.name, view_class


@pytest.mark.parametrize(("name", "view_class"), list(_api_views()))
def test_every_authenticated_api_view_checks_confinement(name, view_class):
    # A view that replaces permission_classes must not drop the check.
    if view_class.authentication_classes:
        assert NotConfined in view_class.permission_classes, name
