"""GET /api/v1/users/me/export: everything the service holds about the caller,
in one document, and nothing that would help someone take the account over."""

import json
import re

import pytest
import time_machine
from django.utils import timezone

from accounts import services
from accounts.client import Client
from accounts.models import AuthEvent, RecoveryCode, TokenSession, User
from accounts.tests.helpers import (
    add_recovery_codes,
    api_client_proving,
    browser_signed_in,
    enable_totp,
    signed_in,
    stale_by,
    two_factors,
)

pytestmark = pytest.mark.django_db

EXPORT = "/api/v1/users/me/export"
STAFF_IP = "203.0.113.77"
START = "2030-01-01 12:00:00Z"
ATTACHMENT = r'attachment; filename="identity-export-(.+)-(\d{4}-\d{2}-\d{2})\.json"'


def _staff_resets_password_of(staff, user):
    sent = services.send_password_reset_link(
        actor=staff,
        user=user,
        assurance=two_factors(),
        client=Client(ip=STAFF_IP, user_agent="StaffBrowser/1"),
    )
    assert sent


def test_the_export_holds_the_account_its_sessions_events_and_factors(user):
    client, tokens = signed_in(user)
    response = client.get(EXPORT)

    assert response.status_code == 200, response.content
    document = response.json()
    assert set(document) == {
        "exported_at",
        "user",
        "pending_email",
        "sessions",
        "events",
        "authenticators",
        "recovery_codes",
    }
    assert document["user"]["email"] == user.email
    assert document["user"]["username"] == user.username
    assert "pending_email" in document["user"]
    session = TokenSession.objects.get(user=user)
    assert [s["id"] for s in document["sessions"]] == [str(session.pk)]
    assert set(document["sessions"][0]) == {
        "kind",
        "id",
        "created_at",
        "last_used_at",
        "expires_at",
        "ip",
        "user_agent",
        "revoked_at",
    }
    signin = next(e for e in document["events"] if e["type"] == "signin_succeeded")
    assert {"type", "created_at", "ip", "door"} <= set(signin)
    assert document["recovery_codes"] == {"remaining": 0}


def test_the_export_lists_browser_sessions_beside_api_sessions(user):
    browser = browser_signed_in(user)
    client, _ = signed_in(user)

    document = client.get(EXPORT).json()

    kinds = sorted(session["kind"] for session in document["sessions"])
    assert kinds == ["api", "browser"]
    assert browser.session.session_key not in str(document)


def test_the_export_lists_factors_by_name_and_date_only(user):
    enable_totp(user)
    add_recovery_codes(user)
    client = api_client_proving(user, two_factors())

    document = client.get(EXPORT).json()

    assert [set(a) for a in document["authenticators"]] == [
        {"kind", "name", "created_at", "last_used_at"}
    ]
    assert document["authenticators"][0]["kind"] == "totp"
    assert document["recovery_codes"] == {"remaining": 10}


def test_the_whole_document_carries_no_hash_secret_token_or_code(user, staff):
    _, tokens = signed_in(user)  # a session whose refresh token must not show
    secret = enable_totp(user)
    codes = add_recovery_codes(user)
    _staff_resets_password_of(staff, user)
    client = api_client_proving(user, two_factors())

    response = client.get(EXPORT)
    assert response.status_code == 200, response.content
    text = response.content.decode()

    user.refresh_from_db()
    forbidden = [user.password, secret, str(staff.pk), STAFF_IP, staff.username]
    forbidden += [s.refresh_jti for s in TokenSession.objects.filter(user=user)]
    forbidden += [c.digest for c in RecoveryCode.objects.filter(user=user)]
    forbidden += [code for code in codes] + [c.replace("-", "") for c in codes]
    forbidden += [tokens["refresh_token"], tokens["access_token"]]
    stored_secret = user.authenticators.get().secret
    forbidden.append(stored_secret)
    for value in forbidden:
        assert value and value not in text, value
    assert "password" not in json.loads(text)["user"]


def test_an_event_caused_by_staff_shows_the_role_not_the_person(user, staff):
    _staff_resets_password_of(staff, user)
    client, _ = signed_in(user)

    events = client.get(EXPORT).json()["events"]

    by_staff = next(e for e in events if e["type"] == "password_reset_requested")
    assert by_staff["actor"] == "staff"
    assert by_staff["ip"] is None
    own = next(e for e in events if e["type"] == "signin_succeeded")
    assert own["ip"] == "127.0.0.1"
    assert "actor" not in own or own["actor"] is None


def test_the_answer_is_an_uncached_attachment_named_after_the_account(db):
    user = User.objects.create_user(
        username="ada/../lovelace", email="ada@example.com", password="long phrase 42!"
    )
    client, _ = signed_in(user, "long phrase 42!")

    response = client.get(EXPORT)

    assert response.status_code == 200, response.content
    today = timezone.now().date().isoformat()
    disposition = response["Content-Disposition"]
    match = re.fullmatch(ATTACHMENT, disposition)
    assert match, disposition
    assert match.group(2) == today
    assert re.fullmatch(r"[A-Za-z0-9._-]+", match.group(1))
    assert "/" not in match.group(1) and ".." not in match.group(1)
    assert "no-store" in response["Cache-Control"]


def test_a_stale_sign_in_must_reauthenticate_first(user):
    with time_machine.travel(START, tick=False) as clock:
        client, _ = signed_in(user)
        clock.shift(stale_by())
        response = client.get(EXPORT)

    assert response.status_code == 403
    assert response.json()["code"] == "reauthentication_required"
    assert not AuthEvent.objects.filter(user=user, type="export").exists()


def test_the_sixth_export_in_an_hour_is_throttled(user):
    client, _ = signed_in(user)
    for _ in range(5):
        assert client.get(EXPORT).status_code == 200
    other, _ = signed_in(user)  # another session of the same account

    response = other.get(EXPORT)

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert AuthEvent.objects.filter(user=user, type="export").count() == 5


def test_an_export_is_audited_and_announced_by_email(user, mailoutbox):
    client, _ = signed_in(user)
    mailoutbox.clear()

    client.get(EXPORT)

    event = AuthEvent.objects.get(user=user, type="export")
    assert event.detail.get("door") == "api"
    assert [m.to for m in mailoutbox] == [[user.email]]
    assert "data" in mailoutbox[0].subject.lower()


def test_an_anonymous_caller_gets_401(api_client):
    assert api_client.get(EXPORT).status_code == 401
