"""Creating an account."""

from django.db import IntegrityError, transaction

from accounts import emails, throttles
from accounts.errors import (
    EmailTaken,
    ValidationFailed,
    WeakPassword,
)
from accounts.models import AuthEvent, User
from accounts.services._base import (
    NO_CLIENT,
    PROFILE_FIELDS,
    Client,
    SignedIn,
    _email_taken,
    _invalid_fields,
    _record,
    _username_taken,
    _validate_password,
)
from accounts.services.sessions import _start_session
from accounts.services.signin import may_sign_in_unverified


def sign_up(
    *,
    email: str,
    username: str,
    password: str,
    first_name: str = "",
    last_name: str = "",
    client: Client = NO_CLIENT,
    issue_tokens: bool = False,
) -> SignedIn:
    """Create an account. Queues the welcome email (with the verification link
    unless EMAIL_VERIFICATION is none). Tokens are withheld, even when asked for,
    while verification is mandatory."""
    throttles.hit("signup", client.ip)
    user = User(
        email=email, username=username, first_name=first_name, last_name=last_name
    )
    user.clean()
    errors = _invalid_fields(user, PROFILE_FIELDS)
    if not errors:
        errors = [
            e for e in (_email_taken(user.email), _username_taken(user.username)) if e
        ]
    try:
        _validate_password(password, user, field="password")
    except WeakPassword as weak:
        errors.append(weak)
    if errors:
        raise ValidationFailed.merge(*errors)
    user.set_password(password)

    with transaction.atomic():
        try:
            # A savepoint: the unique constraints settle races the pre-check lost.
            with transaction.atomic():
                user.save()
        except IntegrityError:
            taken = [
                e
                for e in (_email_taken(user.email), _username_taken(user.username))
                if e
            ]
            raise ValidationFailed.merge(*(taken or [EmailTaken()])) from None
        _record(user, AuthEvent.Type.SIGNUP, client)
        emails.send_welcome(user)
        tokens = None
        if issue_tokens and may_sign_in_unverified(user):
            tokens = _start_session(user, client)
    return SignedIn(user=user, tokens=tokens)
