"""Importing accounts exported from another system (manage.py import_users)."""

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.contrib.auth.hashers import get_hasher
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.db.models.lookups import In

from accounts import identifiers
from accounts.hashers import accepted_algorithms
from accounts.models import AuthEvent, User
from accounts.services.account_checks import PROFILE_FIELDS, invalid_fields
from accounts.services.audit import security_log

IMPORT_BATCH = 1000


IMPORT_FIELDS = (
    *PROFILE_FIELDS,
    "hashed_password",
    "is_active",
    "is_superuser",
    "email_verified",
)


IMPORT_FLAGS = ("is_active", "is_superuser", "email_verified")
# Flags that grant rights: a row may set them only when the import allows it.
IMPORT_PRIVILEGE_FLAGS = ("is_superuser",)

RAW_BCRYPT = re.compile(r"\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}")


TRUE_WORDS = {"1", "true", "t", "yes", "y"}


FALSE_WORDS = {"0", "false", "f", "no", "n"}


@dataclass
class ImportResult:
    created: int = 0
    already_registered: int = 0  # refused: the address has an account already
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
    allow_privileges: bool = False,
) -> ImportResult:
    """Create accounts exported from another system.

    Each row keeps its password hash, so people sign in with their old password
    (re-hashed with Argon2 on that first sign-in). A row whose address already
    has an account (verified or not, live or deleted) is refused, never merged:
    whoever registered it first keeps it, with its own password and sessions,
    so re-running a file changes nothing. Rows granting rights
    (IMPORT_PRIVILEGE_FLAGS) are refused unless `allow_privileges`. A refused
    or bad row is reported through `on_error(line, reason)` (never with the
    hash) and skipped; batches of IMPORT_BATCH commit on their own. Sends no
    email.
    """
    result = ImportResult()

    def fail(line: int, reason: str) -> None:
        result.failed += 1
        on_error(line, reason)

    def known(line: int, reason: str) -> None:
        result.already_registered += 1
        on_error(line, reason)

    batch: list[_ImportRow] = []
    for line, raw in rows:
        try:
            batch.append(_import_row(line, raw, allow_privileges=allow_privileges))
        except ValueError as exc:
            fail(line, str(exc))
            continue
        if len(batch) >= IMPORT_BATCH:
            _import_batch(batch, result, fail, known)
            batch = []
    if batch:
        _import_batch(batch, result, fail, known)
    security_log.info(
        "users_imported",
        extra={
            "event": "users_imported",
            # Not "created": that name is taken by LogRecord itself.
            "accounts_created": result.created,
            "rows_already_registered": result.already_registered,
            "rows_failed": result.failed,
            "privileges_allowed": allow_privileges,
        },
    )
    return result


def _import_row(line: int, raw: dict, *, allow_privileges: bool) -> _ImportRow:
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
    for name in IMPORT_PRIVILEGE_FLAGS:
        # Privilege escalation: a file from elsewhere (or edited on the way)
        # must not mint superusers unless the operator asked for exactly that.
        if given.get(name) and not allow_privileges:
            raise ValueError(
                f"{name}: refused; rights are imported only when allowed "
                "(--allow-privileges)"
            )
    hashed = raw.get("hashed_password")
    if hashed not in (None, ""):
        given["password"] = _imported_hash(hashed)
    user = User(**{name: given[name] for name in PROFILE_FIELDS if name in given})
    user.clean()
    errors = invalid_fields(user, [name for name in PROFILE_FIELDS if name in given])
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
    if algorithm not in accepted_algorithms():
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


def _import_batch(batch: list[_ImportRow], result: ImportResult, fail, known) -> None:
    rows = _without_duplicates(batch, fail)
    try:
        with transaction.atomic():
            created, refused, registered = _write_imported(rows)
    except IntegrityError:
        # A concurrent sign-up took an address or a username after the checks:
        # retry row by row so only the row that lost the race fails.
        if len(rows) == 1:
            fail(rows[0].line, "email or username already taken")
            return
        for row in rows:
            _import_batch([row], result, fail, known)
        return
    result.created += created
    for line, reason in refused:
        fail(line, reason)
    for line, reason in registered:
        known(line, reason)


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


def _write_imported(rows: list[_ImportRow]) -> tuple[int, list, list]:
    # Account takeover: merging a row into an account that already has the
    # address would hand it the imported rights while its first registrant kept
    # the password and sessions. Deleted accounts count too: restoring one
    # would otherwise clash with the imported copy.
    # Keyed by identifiers.email_key, so a look-alike spelling of a registered
    # address (case, a Unicode domain) is the same address.
    only_deleted: dict[str, bool] = {}  # key -> held by deleted accounts only
    for email, deleted_at in User.objects.filter(
        In(Lower("email"), [r.user.email.lower() for r in rows])
    ).values_list("email", "deleted_at"):
        key = identifiers.email_key(email)
        only_deleted[key] = only_deleted.get(key, True) and deleted_at is not None
    for key in (
        User.objects.live()
        .holding(emails=[r.user.email for r in rows])
        .values_list("email_key", flat=True)
    ):
        only_deleted[key] = False
    # The same rule as a sign-up (UserQuerySet.holding): a name is taken by any
    # spelling of it and by any name that looks the same (confusable skeleton).
    names = {
        row.line: (
            identifiers.username_key(row.user.username),
            identifiers.username_skeleton(row.user.username),
        )
        for row in rows
    }
    username_taken = set()
    for key, skeleton in (
        User.objects.live()
        .holding(usernames=[r.user.username for r in rows])
        .values_list("username_key", "username_skeleton")
    ):
        username_taken.update((key, skeleton))
    to_create, refused, already = [], [], []
    for row in rows:
        email = identifiers.email_key(row.user.email)
        if email in only_deleted:
            held_by = "a deleted account" if only_deleted[email] else "an account"
            already.append(
                (row.line, f"email: already registered to {held_by}; not merged")
            )
            continue
        if username_taken.intersection(names[row.line]):
            refused.append((row.line, "username: already taken by another account"))
            continue
        to_create.append(_new_imported_user(row))
    User.objects.bulk_create(to_create)
    AuthEvent.objects.bulk_create(
        [
            AuthEvent(
                user=user,
                type=AuthEvent.Type.SIGNUP,
                detail={"imported": True, "by": "system"}
                | ({"superuser": True} if user.is_superuser else {}),
            )
            for user in to_create
        ]
    )
    return len(to_create), refused, already


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
