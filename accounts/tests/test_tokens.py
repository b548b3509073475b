"""tokens.is_current: the one answer to "does this JWT still stand", asked by
bearer authentication and by refresh alike."""

import jwt
import pytest
from django.utils import timezone

from accounts.tests.helpers import PROVED
from accounts.tokens import is_current, mint_pair

pytestmark = pytest.mark.django_db


def minted_claims(user, session_id="11111111-1111-1111-1111-111111111111"):
    pair, _ = mint_pair(user, session_id=session_id, assurance=PROVED)
    return jwt.decode(pair.access_token, options={"verify_signature": False})


def test_a_freshly_minted_token_is_current(user):
    assert is_current(user, minted_claims(user))


def test_a_token_is_no_longer_current_once_the_generation_moves(user):
    claims = minted_claims(user)

    user.token_generation += 1

    assert not is_current(user, claims)


def test_a_token_is_no_longer_current_once_its_session_is_signed_out(user):
    claims = minted_claims(user)

    user.revoked_sessions = {claims["sid"]: int(timezone.now().timestamp())}

    assert not is_current(user, claims)
    assert is_current(user, minted_claims(user, session_id="another-session"))


def test_a_token_is_no_longer_current_once_the_account_is_unusable(user):
    claims = minted_claims(user)
    user.is_active = False
    assert not is_current(user, claims)

    user.is_active, user.deleted_at = True, timezone.now()
    assert not is_current(user, claims)
