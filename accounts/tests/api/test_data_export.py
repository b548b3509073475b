"""GET /api/v1/users/me/export: everything the service holds about the caller,
in one document, and nothing that would help someone take the account over."""

import json
import re

import jwt
import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services
from accounts.client import Client
from accounts.models import AuthEvent, PendingStep, RecoveryCode, TokenSession, User
from accounts.tests.factories import PASSWORD
from accounts.tests.helpers import (
    SIGNIN,
    add_recovery_codes,
    api_client_proving,
    browser_signed_in,
    emailed_code,
    enable_totp,
    password_only,
    signed_in,
    stale_by,
    two_factors,
)

pytestmark = pytest.mark.django_db

EXPORT = "/api/v1/users/me/export"
STAFF_IP = "203.0.113.77"
START = "2030-01-01 12:00:00Z"
SIGNIN_CODE_REQUEST = "/api/v1/auth/signin/code/request"
ATTACHMENT = r'attachment; filename="identity-export-(.+)-(\d{4}-\d{2}-\d{2})\.json"'


def claims(access_token: str) -> dict:
    return jwt.decode(access_token, options={"verify_signature": False})


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


def test_each_event_names_the_door_it_came_through(user, superuser):
    browser_signed_in(user)
    browser_signed_in(superuser, admin=True)
    client, _ = signed_in(user)

    document = client.get(EXPORT).json()

    signins = [e["door"] for e in document["events"] if e["type"] == "signin_succeeded"]
    assert sorted(signins) == ["api", "web"]
    export = next(e for e in document["events"] if e["type"] == "export")
    assert export["door"] == "api"
    admin_signin = AuthEvent.objects.get(user=superuser, type="signin_succeeded")
    assert admin_signin.detail["door"] == "admin"


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


def test_no_token_id_code_or_step_digest_of_any_flow_is_in_the_document(
    user, mailoutbox
):
    """Every token and code the account holds while it exports, in any form the
    service keeps it (plain, digest, id), is absent from the whole document."""
    client, tokens = signed_in(user)
    secret = enable_totp(user)
    add_recovery_codes(user)
    code_token = (
        APIClient()
        .post(SIGNIN_CODE_REQUEST, {"email": user.email}, format="json")
        .json()["code_token"]
    )
    emailed = emailed_code(mailoutbox[-1])
    mfa_answer = APIClient().post(
        SIGNIN, {"email": user.email, "password": PASSWORD}, format="json"
    )
    assert mfa_answer.status_code == 202, mfa_answer.content
    exporter = api_client_proving(user, two_factors())

    response = exporter.get(EXPORT)
    assert response.status_code == 200, response.content
    text = response.content.decode()

    forbidden = [
        code_token,
        emailed,
        mfa_answer.json()["mfa_token"],
        secret,
        " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        tokens["access_token"],
        tokens["refresh_token"],
        claims(tokens["access_token"])["jti"],
        claims(exporter._credentials["HTTP_AUTHORIZATION"].split()[1])["jti"],
    ]
    for step in PendingStep.objects.filter(user=user):
        forbidden.append(step.digest)
        forbidden += [v for k, v in step.payload.items() if "digest" in k]
    forbidden += [s.refresh_jti for s in TokenSession.objects.filter(user=user)]
    for value in forbidden:
        assert value and value not in text, value
    assert "jti" not in text
    assert '"password"' not in text and "pbkdf2" not in text and "md5$" not in text


def test_a_staff_replaced_factor_reset_shows_staff_and_not_their_address(
    user, superuser
):
    enable_totp(user)
    staff_client = Client(ip=STAFF_IP, user_agent="StaffBrowser/1")
    for reason in ("lost phone", "lost phone, second try"):
        services.start_factor_reset(
            actor=superuser,
            user=user,
            reason=reason,
            assurance=two_factors(),
            client=staff_client,
        )
    exporter = api_client_proving(user, two_factors())

    response = exporter.get(EXPORT)

    assert response.status_code == 200, response.content
    assert STAFF_IP not in response.content.decode()
    assert "StaffBrowser" not in response.content.decode()
    events = response.json()["events"]
    caused = [e for e in events if e["type"].startswith("factor_reset")]
    assert sorted(e["type"] for e in caused) == [
        "factor_reset_cancelled",
        "factor_reset_started",
        "factor_reset_started",
    ]
    assert {(e["actor"], e["ip"]) for e in caused} == {("staff", None)}


def test_a_reset_carried_out_by_the_worker_shows_the_service(user, superuser):
    enable_totp(user)
    reset = services.start_factor_reset(
        actor=superuser, user=user, reason="lost phone", assurance=two_factors()
    )
    reset.accepted_at = reset.due_at = timezone.now()
    reset.save(update_fields=["accepted_at", "due_at"])
    assert services.complete_factor_reset(reset_id=str(reset.pk)) == "completed"
    client, _ = signed_in(user)

    events = client.get(EXPORT).json()["events"]

    completed = next(e for e in events if e["type"] == "factor_reset_completed")
    assert (completed["actor"], completed["ip"]) == ("system", None)


def test_events_staff_caused_in_every_way_show_the_role_only(user, superuser):
    proof = two_factors()
    staff_client = Client(ip=STAFF_IP, user_agent="StaffBrowser/1")
    services.deactivate_user(
        actor=superuser, user=user, assurance=proof, client=staff_client
    )
    services.activate_user(
        actor=superuser, user=user, assurance=proof, client=staff_client
    )
    services.update_user(
        actor=superuser,
        user=user,
        assurance=proof,
        client=staff_client,
        first_name="Renamed",
        email="elsewhere@example.com",
    )
    services.revoke_user_tokens(
        actor=superuser, user=user, assurance=proof, client=staff_client
    )
    exporter = api_client_proving(User.objects.get(pk=user.pk), two_factors())

    response = exporter.get(EXPORT)

    assert response.status_code == 200, response.content
    assert STAFF_IP not in response.content.decode()
    by_staff = [e for e in response.json()["events"] if e["type"] != "export"]
    assert by_staff and {(e["actor"], e["ip"]) for e in by_staff} == {("staff", None)}
    assert str(superuser.pk) not in response.content.decode()
    assert superuser.username not in response.content.decode()


def test_an_account_with_mfa_needs_a_second_factor_for_its_export(user):
    enable_totp(user)
    client = api_client_proving(user, password_only())

    response = client.get(EXPORT)

    assert response.status_code == 403
    assert response.json()["code"] == "reauthentication_required"
    assert not AuthEvent.objects.filter(user=user, type="export").exists()


def test_exports_are_limited_per_account_not_per_session_or_address(user):
    for ip in ("198.51.100.1", "198.51.100.2", "2001:db8::1", "2001:db8:1::1", None):
        extra = {"REMOTE_ADDR": ip} if ip else {}
        client = api_client_proving(user, password_only())
        assert client.get(EXPORT, **extra).status_code == 200

    response = api_client_proving(user, password_only()).get(
        EXPORT, REMOTE_ADDR="203.0.113.200"
    )

    assert response.status_code == 429


def test_the_hour_passes_and_exports_are_allowed_again(user):
    with time_machine.travel(START, tick=False) as clock:
        for _ in range(5):
            assert (
                api_client_proving(user, password_only()).get(EXPORT).status_code == 200
            )
        assert api_client_proving(user, password_only()).get(EXPORT).status_code == 429
        clock.shift(3601)

        response = api_client_proving(user, password_only()).get(EXPORT)

    assert response.status_code == 200


def test_a_refused_export_is_not_recorded_and_sends_no_notice(user, mailoutbox):
    enable_totp(user)
    mailoutbox.clear()

    api_client_proving(user, password_only()).get(EXPORT)

    assert not AuthEvent.objects.filter(user=user, type="export").exists()
    assert mailoutbox == []
