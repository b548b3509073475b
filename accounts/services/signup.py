"""Creating an account."""

from django.db import transaction

from accounts import emails, throttles
from accounts.assurance import PASSWORD, Assurance
from accounts.client import NO_CLIENT, Client
from accounts.models import AuthEvent, TokenSession, User
from accounts.services.account_checks import insert_account, prepare_account
from accounts.services.audit import record
from accounts.services.sessions import start_api_session
from accounts.services.signin import SignedIn, may_sign_in_unverified


def sign_up(
    *,
    email: str,
    username: str,
    password: str,
    first_name: str = "",
    last_name: str = "",
    client: Client = NO_CLIENT,
    issue_tokens: bool = False,
    transport: str = TokenSession.Transport.BODY,
) -> SignedIn:
    """Create an account. Queues the welcome email (with the verification link
    unless EMAIL_VERIFICATION is none). Tokens are withheld, even when asked for,
    while verification is mandatory."""
    throttles.hit("signup", client.ip)
    user = User(
        email=email, username=username, first_name=first_name, last_name=last_name
    )
    prepare_account(user, password)
    with transaction.atomic():
        insert_account(user)
        record(user, AuthEvent.Type.SIGNUP, client)
        emails.send_welcome(user)
        tokens = None
        proved = Assurance.proved(PASSWORD)
        if issue_tokens and may_sign_in_unverified(user):
            tokens = start_api_session(
                user=user, assurance=proved, client=client, transport=transport
            )
    return SignedIn(user=user, tokens=tokens, assurance=proved)
