"""Importing accounts exported from another system (manage.py import_users)."""

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.contrib.auth.hashers import get_hasher
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.db.models.lookups import In
from django.utils import timezone

from accounts import identifiers
from accounts.models import AuthEvent, TokenSession, User
from accounts.services._base import PROFILE_FIELDS, _invalid_fields, security_log

IMPORT_BATCH = 1000


IMPORT_FIELDS = (
    *PROFILE_FIELDS,
    "hashed_password",
    "is_active",
    "is_superuser",
    "email_verified",
)


IMPORT_FLAGS = ("is_active", "is_superuser", "email_verified")
# Hashes this service can verify and then upgrade to Argon2 at the next sign-in.


IMPORTABLE_HASHERS = (
    "argon2",
    "pbkdf2_sha256",
    "pbkdf2_sha1",
    "bcrypt_sha256",
    "bcrypt",
)


RAW_BCRYPT = re.compile(r"\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}")


TRUE_WORDS = {"1", "true", "t", "yes", "y"}


FALSE_WORDS = {"0", "false", "f", "no", "n"}


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    failed: int = 0


@dataclass
class _ImportRow:
    line: int
    user: User  # unsaved; username and email already normalised
    given: dict  # the columns the row sets, with cleaned values


def import_users(
    *,
    rows: Iterable[tuple[int, dict]],
    on_error: Callable[[int, str], None] = lambda line, reason: None,
) -> ImportResult:
    """Create or update (matched by email) accounts exported from another system.

    Each row keeps its password hash, so people sign in with their old password
    (re-hashed with Argon2 on that first sign-in). Re-running a file updates
    instead of duplicating. A bad row is reported through `on_error(line,
    reason)` (never with the hash) and skipped; batches of IMPORT_BATCH commit
    on their own. Sends no email. A changed hash or a deactivation revokes the
    account's tokens, as a password change or deactivation would.
    """
    result = ImportResult()

    def fail(line: int, reason: str) -> None:
        result.failed += 1
        on_error(line, reason)

    batch: list[_ImportRow] = []
    for line, raw in rows:
        try:
            batch.append(_import_row(line, raw))
        except ValueError as exc:
            fail(line, str(exc))
            continue
        if len(batch) >= IMPORT_BATCH:
            _import_batch(batch, result, fail)
            batch = []
    if batch:
        _import_batch(batch, result, fail)
    security_log.info(
        "users_imported",
        extra={
            "event": "users_imported",
            # Not "created": that name is taken by LogRecord itself.
            "accounts_created": result.created,
            "accounts_updated": result.updated,
            "rows_failed": result.failed,
        },
    )
    return result


def _import_row(line: int, raw: dict) -> _ImportRow:
    """Check one row's shape; raises ValueError naming the field, never the value
    of a hash (it would end up in logs and terminals)."""
    if not isinstance(raw, dict):
        raise ValueError("expected an object with named fields")
    unknown = sorted(set(raw) - set(IMPORT_FIELDS))
    if unknown:
        raise ValueError(f"unknown field(s): {', '.join(map(str, unknown))}")
    given = {}
    for name in PROFILE_FIELDS:
        value = raw.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise ValueError(f"{name}: not a string")
        given[name] = value
    for name in ("email", "username"):
        if not given.get(name, "").strip():
            raise ValueError(f"{name}: required")
    for name in IMPORT_FLAGS:
        flag = _import_flag(name, raw.get(name))
        if flag is not None:
            given[name] = flag
    hashed = raw.get("hashed_password")
    if hashed not in (None, ""):
        given["password"] = _imported_hash(hashed)
    user = User(**{name: given[name] for name in PROFILE_FIELDS if name in given})
    user.clean()
    errors = _invalid_fields(user, [name for name in PROFILE_FIELDS if name in given])
    if errors:
        first = errors[0]
        raise ValueError(f"{first.field}: {first.message}")
    given["email"], given["username"] = user.email, user.username
    return _ImportRow(line=line, user=user, given=given)


def _import_flag(name: str, value) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in TRUE_WORDS | FALSE_WORDS:
        return value.strip().lower() in TRUE_WORDS
    raise ValueError(f"{name}: not a boolean")


def _imported_hash(value) -> str:
    """A Django password field value for an exported hash: raw bcrypt gains
    Django's `bcrypt$` prefix; Django-format hashes are kept as they are."""
    if not isinstance(value, str):
        raise ValueError("hashed_password: not a string")
    value = value.strip()
    if RAW_BCRYPT.fullmatch(value):
        return f"bcrypt${value}"
    algorithm = value.split("$", 1)[0]
    if algorithm not in IMPORTABLE_HASHERS:
        raise ValueError("hashed_password: not a recognised password hash")
    if algorithm in ("bcrypt", "bcrypt_sha256") and not RAW_BCRYPT.fullmatch(
        value.split("$", 1)[1]
    ):
        raise ValueError("hashed_password: malformed bcrypt hash")
    try:
        get_hasher(algorithm).decode(value)
    except (ValueError, TypeError, IndexError):
        # get_hasher refuses algorithms missing from PASSWORD_HASHERS too.
        raise ValueError(
            f"hashed_password: malformed or unsupported {algorithm} hash"
        ) from None
    return value


def _import_batch(batch: list[_ImportRow], result: ImportResult, fail) -> None:
    rows = _without_duplicates(batch, fail)
    try:
        with transaction.atomic():
            created, updated, refused = _write_imported(rows)
    except IntegrityError:
        # A concurrent sign-up took an address or a username after the checks:
        # retry row by row so only the row that lost the race fails.
        if len(rows) == 1:
            fail(rows[0].line, "email or username already taken")
            return
        for row in rows:
            _import_batch([row], result, fail)
        return
    result.created += created
    result.updated += updated
    for line, reason in refused:
        fail(line, reason)


def _without_duplicates(batch: list[_ImportRow], fail) -> list[_ImportRow]:
    first_line = {}
    kept = []
    for row in batch:
        keys = [
            ("email", identifiers.email_key(row.user.email)),
            ("username", identifiers.username_skeleton(row.user.username)),
        ]
        clash = next((key for key in keys if key in first_line), None)
        if clash:
            fail(row.line, f"{clash[0]}: same as line {first_line[clash]}")
            continue
        for key in keys:
            first_line[key] = row.line
        kept.append(row)
    return kept


def _write_imported(rows: list[_ImportRow]) -> tuple[int, int, list]:
    # Locked until the batch commits, so a concurrent change to one of these
    # accounts is not overwritten with what was read before it.
    existing = {}
    # A live account wins over a soft-deleted one with the same address (the
    # deleted one no longer holds it); a deleted one alone is refused below.
    for user in (
        User.objects.select_for_update()
        .filter(In(Lower("email"), [r.user.email for r in rows]))
        .order_by(F("deleted_at").desc(nulls_first=True))
    ):
        existing.setdefault(user.email, user)
    # The same rule as a sign-up: a name is taken by any spelling of it and by
    # any name that looks the same (confusable skeleton).
    names = {
        row.line: (
            identifiers.username_key(row.user.username),
            identifiers.username_skeleton(row.user.username),
        )
        for row in rows
    }
    owner_of_username = {}
    for key, skeleton, email in (
        User.objects.live()
        .filter(
            Q(username_key__in=[key for key, _ in names.values()])
            | Q(username_skeleton__in=[skeleton for _, skeleton in names.values()])
        )
        .values_list("username_key", "username_skeleton", "email")
    ):
        owner_of_username[key] = owner_of_username[skeleton] = email
    to_create, to_update, to_revoke, refused = [], [], [], []
    changed_fields: set[str] = set()
    for row in rows:
        key, skeleton = names[row.line]
        owner = owner_of_username.get(key) or owner_of_username.get(skeleton)
        if owner is not None and owner != row.user.email:
            refused.append((row.line, "username: already taken by another account"))
            continue
        user = existing.get(row.user.email)
        if user is None:
            to_create.append(_new_imported_user(row))
            continue
        if user.deleted_at is not None:
            refused.append(
                (row.line, "email: the account is deleted; restore it first")
            )
            continue
        revoke = (
            "password" in row.given and row.given["password"] != user.password
        ) or (row.given.get("is_active") is False and user.is_active)
        for name, value in row.given.items():
            setattr(user, name, value)
        if row.given.get("is_superuser"):
            user.is_staff = True
        changed_fields.update(row.given)
        to_update.append(user)
        if revoke:
            to_revoke.append(user.pk)
    User.objects.bulk_create(to_create)
    if to_update:
        fields = sorted(
            changed_fields
            | ({"is_staff"} if "is_superuser" in changed_fields else set())
        )
        User.objects.bulk_update(to_update, fields)
    if to_revoke:
        User.objects.filter(pk__in=to_revoke).update(
            token_generation=F("token_generation") + 1
        )
        TokenSession.objects.filter(
            user_id__in=to_revoke, revoked_at__isnull=True
        ).update(revoked_at=timezone.now())
    AuthEvent.objects.bulk_create(
        [
            AuthEvent(user=user, type=AuthEvent.Type.SIGNUP, detail={"imported": True})
            for user in to_create
        ]
        + [
            AuthEvent(
                user=user,
                type=AuthEvent.Type.PROFILE_UPDATED,
                detail={"imported": True},
            )
            for user in to_update
        ]
    )
    return len(to_create), len(to_update), refused


def _new_imported_user(row: _ImportRow) -> User:
    user = row.user
    for name, value in row.given.items():
        setattr(user, name, value)
    if "password" not in row.given:
        # Nobody knows a password for this account: its owner sets one through
        # the forgot-password link.
        user.set_unusable_password()
    user.is_staff = row.given.get("is_superuser", False)
    return user
