"""The account an emailed link (reset password, verify email) is for."""

import uuid

from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode

from accounts.errors import InvalidToken
from accounts.models import User


def user_for_link(uid: str, token: str, generator, *, lock: bool = False) -> User:
    """The usable account whose id is `uid`, if `token` is a valid link token
    of `generator` for it; InvalidToken for anything else, malformed input
    included. `lock` takes the row lock, so two uses of one link take turns."""
    try:
        pk = uuid.UUID(force_str(urlsafe_base64_decode(uid)))
    except (TypeError, ValueError, OverflowError, UnicodeDecodeError):
        raise InvalidToken() from None
    users = User.objects.select_for_update() if lock else User.objects
    user = users.usable().filter(pk=pk).first()
    if (
        user is None
        or not isinstance(token, str)
        or not generator.check_token(user, token)
    ):
        raise InvalidToken()
    return user
