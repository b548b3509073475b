"""Reads that more than one door needs (the staff API, the admin, the pages)."""

import uuid
from datetime import UTC, datetime

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import Q, Value
from django.db.models.functions import Coalesce, Lower
from django.db.models.lookups import Exact
from django.http import Http404

from accounts.managers import normalize_email
from accounts.models import AuthEvent, User

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def user_by_id(user_id) -> User:
    """Any account by id, soft-deleted ones included; 404 for a malformed id too."""
    try:
        return User.objects.get(pk=uuid.UUID(str(user_id)))
    except (ValueError, User.DoesNotExist):
        raise Http404("No such account.") from None


def ordering_key(ordering: str) -> str:
    # last_login is NULL until the first sign-in; cursors need a comparable value.
    return ordering.replace("last_login", "last_seen")


def staff_user_list(
    *,
    search: str = "",
    is_active: bool | None = None,
    is_staff: bool | None = None,
    email_verified: bool | None = None,
    ordering: str = "-date_joined",
):
    users = User.objects.all()
    if _is_email_address(search):
        # A whole address names one account: the Lower(email) unique index finds
        # it at once, where a substring search would scan every "@example.com".
        users = users.filter(Exact(Lower("email"), normalize_email(search)))
    elif search:
        users = users.filter(
            Q(username__icontains=search)
            | Q(email__icontains=search)
            | Q(first_name__icontains=search)
            | Q(last_name__icontains=search)
        )
    for name, value in (
        ("is_active", is_active),
        ("is_staff", is_staff),
        ("email_verified", email_verified),
    ):
        if value is not None:
            users = users.filter(**{name: value})
    if "last_login" in ordering:
        users = users.annotate(last_seen=Coalesce("last_login", Value(EPOCH)))
    return users


def _is_email_address(value: str) -> bool:
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True


def recent_events(*, user: User, limit: int = 20):
    return AuthEvent.objects.filter(user=user).order_by("-created_at")[:limit]
