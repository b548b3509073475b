"""Checks an account must pass before it is written: field shapes, free
identifiers, password strength; and the insert that settles races."""

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.encoding import force_str

from accounts.errors import (
    EmailTaken,
    FieldError,
    UsernameTaken,
    ValidationFailed,
    WeakPassword,
)
from accounts.models import User

PROFILE_FIELDS = ("username", "email", "first_name", "last_name")


def invalid_fields(user: User, fields) -> list[FieldError]:
    """Model-level shape checks (lengths, email syntax, username characters), so
    any caller, not only the forms and serializers, gets a clean error."""
    errors = []
    for name in fields:
        value = getattr(user, name)
        if not isinstance(value, str):
            errors.append(FieldError("Not a valid string.", code="invalid", field=name))
        elif any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
            errors.append(
                FieldError(
                    "Control characters are not allowed.", code="invalid", field=name
                )
            )
    if errors:
        return errors
    try:
        user.clean_fields(
            exclude=[f.name for f in User._meta.fields if f.name not in fields]
        )
    except ValidationError as exc:
        for name, items in exc.error_dict.items():
            for item in items:
                message = force_str(item.message % (item.params or {}))
                errors.append(
                    FieldError(message, code=item.code or "invalid", field=name)
                )
    return errors


def identifiers_taken(
    *,
    email: str | None = None,
    username: str | None = None,
    exclude: User | None = None,
) -> list[FieldError]:
    """Whether another live account holds this address (any spelling) or this
    name (any spelling, or one that looks the same); `exclude` is the account
    being saved, which keeps its own."""
    errors = []
    if email and not _keeps_own(exclude, email, "email"):
        if _others(exclude).holding(emails=[email]).exists():
            errors.append(EmailTaken())
    if username and not _keeps_own(exclude, username, "username"):
        if _others(exclude).holding(usernames=[username]).exists():
            errors.append(UsernameTaken())
    return errors


def _others(user: User | None):
    accounts = User.objects.live()
    return accounts if user is None else accounts.exclude(pk=user.pk)


def _keeps_own(user: User | None, value: str, field: str) -> bool:
    # A live account re-submitting its own name or address (any spelling) holds
    # it already; an account that shared a key with an older one before keys
    # existed (migration 0008) must still be able to save its profile.
    if user is None or user.is_deleted:
        return False
    keeps = user.keeps_username if field == "username" else user.keeps_email
    return keeps(value)


def validate_password(password: str, user: User, *, field: str) -> None:
    if not isinstance(password, str) or not password:
        raise WeakPassword(field, [("This field may not be blank.", "blank")])
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise WeakPassword(
            field,
            [
                (force_str(e.message % (e.params or {})), e.code or "invalid")
                for e in exc.error_list
            ],
        ) from None


def prepare_account(user: User, password: str | None) -> None:
    """Check a new account before anything is written: field shapes, then
    uniqueness, then the password, all reported together. Hashes the password
    here, outside any transaction (no lock is held while Argon2 runs)."""
    user.clean()
    errors = invalid_fields(user, PROFILE_FIELDS) or identifiers_taken(
        email=user.email, username=user.username
    )
    if password is not None:
        try:
            validate_password(password, user, field="password")
        except WeakPassword as weak:
            errors.append(weak)
    if errors:
        raise ValidationFailed.merge(*errors)
    user.set_password(password)


def insert_account(user: User) -> None:
    """Insert a prepared account inside the caller's transaction.

    The pre-check gave friendly errors; the unique constraints settle the race
    two simultaneous sign-ups would otherwise both win (the insert runs in a
    savepoint, so the caller's transaction survives the IntegrityError)."""
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        taken = identifiers_taken(email=user.email, username=user.username)
        raise ValidationFailed.merge(*(taken or [EmailTaken()])) from None
