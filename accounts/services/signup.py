"""Creating an account."""

from django.db import transaction

from accounts import emails, throttles
from accounts.models import AuthEvent, User
from accounts.services._base import (
    NO_CLIENT,
    Client,
    SignedIn,
    _insert_account,
    _prepare_account,
    _record,
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
    _prepare_account(user, password)
    with transaction.atomic():
        _insert_account(user)
        _record(user, AuthEvent.Type.SIGNUP, client)
        emails.send_welcome(user)
        tokens = None
        if issue_tokens and may_sign_in_unverified(user):
            tokens = _start_session(user, client)
    return SignedIn(user=user, tokens=tokens)
