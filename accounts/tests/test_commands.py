"""Housekeeping and import commands, run as an operator would run them."""

import json
from datetime import timedelta
from io import StringIO

import bcrypt
import pytest
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from django.utils import timezone

from accounts.hashers import ACCEPTED_HASHERS
from accounts.models import AuthEvent, RateCounter, TokenSession, User
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.helpers import api_client_signed_in_as

pytestmark = pytest.mark.django_db

PRODUCTION_HASHERS = list(ACCEPTED_HASHERS)
OLD_PASSWORD = "an old password from the legacy system"


def run(*args):
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def days_ago(days):
    return timezone.now() - timedelta(days=days)


def raw_bcrypt(password=OLD_PASSWORD, prefix="$2b$"):
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
    return prefix + hashed[4:]


def session(user, *, expires_at, revoked_at=None):
    return TokenSession.objects.create(
        user=user, refresh_jti="jti", expires_at=expires_at, revoked_at=revoked_at
    )


def write_csv(tmp_path, text, name="users.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def write_jsonl(tmp_path, rows, name="users.jsonl"):
    path = tmp_path / name
    path.write_text(
        "\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n",
        encoding="utf-8",
    )
    return path


# ---------------------------------------------------------------------------
# purge_deleted_users
# ---------------------------------------------------------------------------
@pytest.fixture
def long_gone():
    user = UserFactory(username="longgone", is_active=False, deleted_at=days_ago(40))
    session(user, expires_at=days_ago(35))
    AuthEvent.objects.create(user=user, type=AuthEvent.Type.ACCOUNT_DELETED)
    return user


def test_purge_dry_run_counts_and_deletes_nothing(long_gone):
    out, _ = run("purge_deleted_users", "--older-than", "30d")

    assert "Dry run: 1 account(s)" in out
    assert "--execute" in out
    assert User.objects.filter(pk=long_gone.pk).exists()


def test_purge_execute_deletes_old_soft_deleted_accounts_with_their_data(long_gone):
    recent = UserFactory(is_active=False, deleted_at=days_ago(2))
    live = UserFactory()

    out, _ = run("purge_deleted_users", "--older-than", "30d", "--execute")

    assert "Purged 1 account(s)" in out
    assert not User.objects.filter(pk=long_gone.pk).exists()
    assert not TokenSession.objects.filter(user_id=long_gone.pk).exists()
    assert not AuthEvent.objects.filter(user_id=long_gone.pk).exists()
    assert set(User.objects.values_list("pk", flat=True)) == {recent.pk, live.pk}


def test_purge_accepts_an_age_in_hours(long_gone):
    recent = UserFactory(
        is_active=False, deleted_at=timezone.now() - timedelta(hours=3)
    )

    run("purge_deleted_users", "--older-than", "2h", "--execute")

    assert not User.objects.filter(pk__in=[long_gone.pk, recent.pk]).exists()


@pytest.mark.parametrize("age", ["30", "30x", "0d", "-1d", "d"])
def test_purge_refuses_a_malformed_age_and_deletes_nothing(long_gone, age):
    with pytest.raises(CommandError, match="older-than"):
        run("purge_deleted_users", "--older-than", age, "--execute")

    assert User.objects.filter(pk=long_gone.pk).exists()


def test_purge_deletes_in_batches(long_gone, monkeypatch):
    monkeypatch.setattr("accounts.services.housekeeping.HOUSEKEEPING_BATCH", 2)
    UserFactory.create_batch(4, is_active=False, deleted_at=days_ago(60))

    out, _ = run("purge_deleted_users", "--execute")

    assert "Purged 5 account(s)" in out
    assert not User.objects.filter(deleted_at__isnull=False).exists()


# ---------------------------------------------------------------------------
# flushexpiredtokens
# ---------------------------------------------------------------------------
def test_flushexpiredtokens_deletes_expired_rate_counters_only():
    RateCounter.objects.create(key="old", count=3, expires_at=days_ago(1))
    RateCounter.objects.create(
        key="live", count=3, expires_at=timezone.now() + timedelta(minutes=5)
    )

    out, _ = run("flushexpiredtokens")

    assert "1 expired rate counter(s)" in out
    assert list(RateCounter.objects.values_list("key", flat=True)) == ["live"]


def test_flushexpiredtokens_deletes_sessions_ended_more_than_a_day_ago(user):
    expired_long_ago = session(user, expires_at=days_ago(3))
    revoked_long_ago = session(
        user, expires_at=timezone.now() + timedelta(days=5), revoked_at=days_ago(2)
    )
    active = session(user, expires_at=timezone.now() + timedelta(days=5))
    just_expired = session(user, expires_at=timezone.now() - timedelta(hours=1))
    just_revoked = session(
        user,
        expires_at=timezone.now() + timedelta(days=5),
        revoked_at=timezone.now() - timedelta(hours=1),
    )

    out, _ = run("flushexpiredtokens")

    assert "Deleted 2 ended session(s)" in out
    assert set(TokenSession.objects.values_list("pk", flat=True)) == {
        active.pk,
        just_expired.pk,
        just_revoked.pk,
    }
    assert not TokenSession.objects.filter(
        pk__in=[expired_long_ago.pk, revoked_long_ago.pk]
    ).exists()


def test_flushexpiredtokens_keeps_a_signed_in_users_session_working(
    api_client, user, password
):
    tokens = api_client.post(
        "/api/v1/auth/signin", {"email": user.email, "password": password}
    ).json()

    run("flushexpiredtokens")

    response = api_client.post(
        "/api/v1/auth/token/refresh",
        {"refresh_token": tokens["refresh_token"]},
        format="json",
    )
    assert response.status_code == 200


# ---------------------------------------------------------------------------
# prune_auth_events
# ---------------------------------------------------------------------------
@pytest.fixture
def old_and_new_events(user):
    old = AuthEvent.objects.create(
        user=user, type=AuthEvent.Type.SIGNIN_SUCCEEDED, created_at=days_ago(400)
    )
    new = AuthEvent.objects.create(
        user=user, type=AuthEvent.Type.SIGNIN_SUCCEEDED, created_at=days_ago(10)
    )
    return old, new


def test_prune_auth_events_dry_run_deletes_nothing(old_and_new_events):
    out, _ = run("prune_auth_events", "--older-than", "365d")

    assert "Dry run: 1 audit event(s)" in out
    assert AuthEvent.objects.count() == 2


def test_prune_auth_events_execute_deletes_only_old_events(old_and_new_events):
    old, new = old_and_new_events

    out, _ = run("prune_auth_events", "--older-than", "365d", "--execute")

    assert "Deleted 1 audit event(s)" in out
    assert list(AuthEvent.objects.values_list("pk", flat=True)) == [new.pk]


# ---------------------------------------------------------------------------
# import_users
# ---------------------------------------------------------------------------
def test_import_csv_creates_accounts_with_their_old_passwords(tmp_path):
    bcrypt_hash = raw_bcrypt()
    pbkdf2_hash = make_password(
        OLD_PASSWORD, hasher="pbkdf2_sha256"
    )  # a Django-format hash
    path = write_csv(
        tmp_path,
        "email,username,first_name,last_name,hashed_password,is_active,"
        "is_superuser,email_verified\n"
        f"Ada@Example.com,ada,Ada,Lovelace,{bcrypt_hash},true,false,true\n"
        f"grace@example.com,grace,Grace,Hopper,{pbkdf2_hash},1,,0\n"
        "nohash@example.com,nohash,,,,false,,\n",
    )

    out, err = run("import_users", str(path))

    assert "3 created, 0 already registered, 0 failed" in out
    assert err == ""
    ada = User.objects.get(username="ada")
    assert ada.email == "ada@example.com"
    assert ada.password == f"bcrypt${bcrypt_hash}"
    assert ada.check_password(OLD_PASSWORD)
    assert (ada.first_name, ada.last_name, ada.email_verified) == (
        "Ada",
        "Lovelace",
        True,
    )
    grace = User.objects.get(username="grace")
    assert grace.password == pbkdf2_hash
    assert grace.check_password(OLD_PASSWORD)
    assert grace.email_verified is False
    nohash = User.objects.get(username="nohash")
    assert nohash.has_usable_password() is False
    assert nohash.is_active is False
    assert AuthEvent.objects.filter(type=AuthEvent.Type.SIGNUP).count() == 3


def test_import_jsonl_creates_accounts(tmp_path):
    path = write_jsonl(
        tmp_path,
        [
            {
                "email": "ada@example.com",
                "username": "ada",
                "hashed_password": raw_bcrypt(prefix="$2y$"),
                "is_active": True,
                "email_verified": True,
            },
            {
                "email": "root@example.com",
                "username": "root",
                "hashed_password": raw_bcrypt(prefix="$2a$"),
                "is_active": True,
                "is_superuser": True,
            },
        ],
    )

    out, _ = run("import_users", str(path), "--allow-privileges")

    assert "2 created, 0 already registered, 0 failed" in out
    assert User.objects.get(username="ada").check_password(OLD_PASSWORD)
    root = User.objects.get(username="root")
    assert root.check_password(OLD_PASSWORD)
    assert (root.is_superuser, root.is_staff) == (True, True)


def test_import_twice_refuses_known_addresses_and_never_duplicates(tmp_path):
    first = write_csv(
        tmp_path,
        "email,username,first_name,hashed_password,is_active\n"
        f"ada@example.com,ada,Ada,{raw_bcrypt()},true\n",
        "first.csv",
    )
    second = write_csv(
        tmp_path,
        "email,username,first_name,hashed_password,is_active\n"
        f"ADA@example.com,ada,Augusta,{raw_bcrypt()},true\n"
        f"bob@example.com,bob,Bob,{raw_bcrypt()},true\n",
        "second.csv",
    )
    run("import_users", str(first))
    before = User.objects.values().get(username="ada")

    out, err = run("import_users", str(second))

    assert "1 created, 1 already registered, 0 failed" in out
    assert err == "line 2: email: already registered to an account; not merged\n"
    assert User.objects.count() == 2
    assert User.objects.values().get(username="ada") == before


@pytest.mark.parametrize("verified", [False, True])
def test_import_never_merges_into_an_account_that_signed_up_first(tmp_path, verified):
    # A pre-registrant signs up with the address an import is about to bring in.
    squatter = UserFactory(
        username="squatter", email="boss@example.com", email_verified=verified
    )
    api = api_client_signed_in_as(squatter)
    before = User.objects.values().get(pk=squatter.pk)
    path = write_jsonl(
        tmp_path,
        [
            {
                "email": "Boss@Example.com",
                "username": "boss",
                "hashed_password": raw_bcrypt(),
                "is_active": True,
                "is_superuser": True,
                "email_verified": True,
            }
        ],
    )

    out, err = run("import_users", str(path), "--allow-privileges")

    assert "0 created, 1 already registered, 0 failed" in out
    assert err.startswith("line 1: email: already registered")
    assert User.objects.values().get(pk=squatter.pk) == before
    assert not User.objects.filter(username="boss").exists()
    assert api.get("/api/v1/users/me").status_code == 200
    assert not AuthEvent.objects.filter(
        user=squatter, type=AuthEvent.Type.PROFILE_UPDATED
    ).exists()


@pytest.mark.parametrize("value", ["true", "1", "yes"])
def test_import_refuses_superuser_rows_unless_privileges_are_allowed(tmp_path, value):
    path = write_csv(
        tmp_path,
        "email,username,is_active,is_superuser\n"
        f"root@example.com,root,true,{value}\n"
        "ada@example.com,ada,true,false\n",
    )

    out, err = run("import_users", str(path))

    assert "1 created, 0 already registered, 1 failed" in out
    assert err.startswith("line 2: is_superuser: ")
    assert "--allow-privileges" in err
    assert not User.objects.filter(username="root").exists()
    ada = User.objects.get(username="ada")
    assert (ada.is_staff, ada.is_superuser) == (False, False)


def test_import_with_allow_privileges_creates_superusers(tmp_path):
    path = write_csv(
        tmp_path,
        "email,username,is_active,is_superuser\nroot@example.com,root,true,true\n",
    )

    out, _ = run("import_users", str(path), "--allow-privileges")

    assert "1 created" in out
    root = User.objects.get(username="root")
    assert (root.is_staff, root.is_superuser) == (True, True)


def test_import_reports_bad_rows_by_line_and_imports_the_rest(tmp_path):
    secret_hash = raw_bcrypt()
    UserFactory(username="taken", email="owner@example.com")
    path = write_csv(
        tmp_path,
        "email,username,hashed_password,is_active\n"
        f"good@example.com,good,{secret_hash},true\n"
        f"not-an-email,bad1,{secret_hash},true\n"
        f"nouser@example.com,,{secret_hash},true\n"
        "weird@example.com,weird,md5$abc$0123456789abcdef,true\n"
        f"flag@example.com,flag,{secret_hash},perhaps\n"
        f"GOOD@example.com,good2,{secret_hash},true\n"
        f"thief@example.com,TAKEN,{secret_hash},true\n"
        f"broken@example.com,broken,{secret_hash[:-5]},true\n"
        "short@example.com\n"
        f"last@example.com,last,{secret_hash},true\n",
    )

    out, err = run("import_users", str(path))

    assert "2 created, 0 already registered, 8 failed" in out
    reported = dict(line.split(": ", 1) for line in err.splitlines())
    assert sorted(reported, key=lambda n: int(n.split()[1])) == [
        f"line {n}" for n in range(3, 11)
    ]
    assert reported["line 3"].startswith("email")
    assert reported["line 4"] == "username: required"
    assert reported["line 5"].startswith("hashed_password")
    assert reported["line 6"] == "is_active: not a boolean"
    assert reported["line 7"] == "email: same as line 2"
    assert reported["line 8"] == "username: already taken by another account"
    assert reported["line 9"].startswith("hashed_password")
    assert reported["line 10"] == "wrong number of columns"
    assert secret_hash not in out + err
    assert secret_hash[:-5] not in out + err
    assert set(User.objects.values_list("username", flat=True)) == {
        "taken",
        "good",
        "last",
    }


def test_import_jsonl_reports_malformed_lines_without_quoting_them(tmp_path):
    secret_hash = raw_bcrypt()
    path = write_jsonl(
        tmp_path,
        [
            f'{{"email": "a@example.com", "hashed_password": "{secret_hash}"',
            ["not", "an", "object"],
            {"email": "b@example.com", "username": "b", "is_admin": True},
            {"email": "c@example.com", "username": "c", "is_active": "yes"},
        ],
    )

    out, err = run("import_users", str(path))

    assert "1 created, 0 already registered, 3 failed" in out
    assert err.splitlines()[0].startswith("line 1: not valid JSON")
    assert err.splitlines()[1].startswith("line 2: expected an object")
    assert "unknown field(s): is_admin" in err.splitlines()[2]
    assert secret_hash not in err


def test_import_refuses_a_csv_with_an_unknown_column_and_imports_nothing(tmp_path):
    path = write_csv(
        tmp_path,
        f"email,username,hashed_pasword\nada@example.com,ada,{raw_bcrypt()}\n",
    )

    with pytest.raises(CommandError, match="hashed_pasword"):
        run("import_users", str(path))

    assert not User.objects.filter(username="ada").exists()


def test_import_refuses_other_file_types(tmp_path):
    path = tmp_path / "users.xlsx"
    path.write_bytes(b"")

    with pytest.raises(CommandError, match=".csv or .jsonl"):
        run("import_users", str(path))


def test_import_commits_batch_by_batch(tmp_path, monkeypatch):
    monkeypatch.setattr("accounts.services.user_import.IMPORT_BATCH", 2)
    rows = [
        {"email": f"u{i}@example.com", "username": f"u{i}", "is_active": True}
        for i in range(5)
    ]
    rows.append({"email": "U1@example.com", "username": "u1", "first_name": "Again"})
    path = write_jsonl(tmp_path, rows)

    out, _ = run("import_users", str(path))

    assert "5 created, 1 already registered, 0 failed" in out
    assert User.objects.filter(username__startswith="u").count() == 5
    assert User.objects.get(username="u1").first_name == ""


def test_import_leaves_soft_deleted_accounts_alone(tmp_path):
    gone = UserFactory(is_active=False, deleted_at=days_ago(1))
    path = write_csv(
        tmp_path, f"email,username,is_active\n{gone.email},{gone.username},true\n"
    )

    out, err = run("import_users", str(path))

    gone.refresh_from_db()
    assert "0 created, 1 already registered, 0 failed" in out
    assert "deleted" in err
    assert gone.is_active is False


@override_settings(PASSWORD_HASHERS=PRODUCTION_HASHERS)
def test_imported_bcrypt_password_signs_in_and_is_upgraded_to_argon2(
    tmp_path, api_client
):
    path = write_csv(
        tmp_path,
        "email,username,hashed_password,is_active,email_verified\n"
        f"ada@example.com,ada,{raw_bcrypt()},true,true\n",
    )
    run("import_users", str(path))

    response = api_client.post(
        "/api/v1/auth/signin",
        {"email": "ada@example.com", "password": OLD_PASSWORD},
        format="json",
    )

    assert response.status_code == 200
    ada = User.objects.get(username="ada")
    assert ada.password.startswith("argon2$")
    assert ada.check_password(OLD_PASSWORD)


@override_settings(PASSWORD_HASHERS=PRODUCTION_HASHERS)
def test_imported_bcrypt_password_refuses_a_wrong_password_and_keeps_the_hash(
    tmp_path, api_client
):
    bcrypt_hash = raw_bcrypt()
    path = write_csv(
        tmp_path,
        "email,username,hashed_password,is_active,email_verified\n"
        f"ada@example.com,ada,{bcrypt_hash},true,true\n",
    )
    run("import_users", str(path))

    response = api_client.post(
        "/api/v1/auth/signin",
        {"email": "ada@example.com", "password": PASSWORD},
        format="json",
    )

    assert response.status_code == 401
    assert User.objects.get(username="ada").password == f"bcrypt${bcrypt_hash}"
