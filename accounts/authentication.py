from django.core.exceptions import ValidationError
from rest_framework_simplejwt import authentication
from rest_framework_simplejwt.exceptions import (
    AuthenticationFailed,
    InvalidToken,
    TokenError,
)

from accounts.models import User
from accounts.tokens import GENERATION_CLAIM, SESSION_CLAIM, AccessToken


class JWTAuthentication(authentication.JWTAuthentication):
    """Bearer access tokens, refused once revoked.

    The generation and revoked-session checks cost nothing extra: the user row
    is loaded anyway, and comparing counters (not timestamps) kills tokens
    minted in the same second as the revocation without depending on clocks.
    """

    def get_validated_token(self, raw_token):
        try:
            return AccessToken(raw_token)
        except TokenError as exc:
            raise InvalidToken("Token is invalid or expired") from exc

    def get_user(self, validated_token):
        try:
            # The tier comes along: the per-user throttle reads its rate.
            user = User.objects.select_related("tier").get(pk=validated_token["sub"])
        except (KeyError, User.DoesNotExist, ValidationError, ValueError) as exc:
            raise AuthenticationFailed(
                "Token is invalid or expired", code="token_not_valid"
            ) from exc
        if (
            not user.is_usable
            or validated_token.get(GENERATION_CLAIM) != user.token_generation
            # One session signed out: its tokens die with it, read from the
            # same row (no query of the session table per request).
            or str(validated_token.get(SESSION_CLAIM)) in user.revoked_sessions
        ):
            raise AuthenticationFailed(
                "Token is invalid or expired", code="token_not_valid"
            )
        return user
