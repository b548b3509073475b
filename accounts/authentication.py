from django.core.exceptions import ValidationError
from rest_framework_simplejwt import authentication
from rest_framework_simplejwt.exceptions import (
    AuthenticationFailed,
    InvalidToken,
    TokenError,
)

from accounts.compiled_lookup import load_user
from accounts.tokens import AccessToken, is_current


class JWTAuthentication(authentication.JWTAuthentication):
    """Bearer access tokens, refused once revoked (tokens.is_current: no query
    beyond the user row, which is loaded anyway)."""

    def get_validated_token(self, raw_token):
        try:
            return AccessToken(raw_token)
        except TokenError as exc:
            raise InvalidToken("Token is invalid or expired") from exc

    def get_user(self, validated_token):
        try:
            # The tier comes along: the per-user throttle reads its rate.
            user = load_user(validated_token["sub"])
        except (KeyError, ValidationError, ValueError) as exc:
            raise AuthenticationFailed(
                "Token is invalid or expired", code="token_not_valid"
            ) from exc
        if user is None or not is_current(user, validated_token):
            raise AuthenticationFailed(
                "Token is invalid or expired", code="token_not_valid"
            )
        return user
