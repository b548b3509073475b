from django.conf import settings
from django.core.exceptions import ValidationError

from accounts import identifiers


class MaximumLengthValidator:
    """Refuse absurdly long passwords before anything hashes them (CPU exhaustion)."""

    def __init__(self, max_length=None):
        self.max_length = max_length or settings.PASSWORD_MAX_LENGTH

    def validate(self, password, user=None):
        if len(password) > self.max_length:
            raise ValidationError(
                f"This password is too long (at most {self.max_length} characters).",
                code="password_too_long",
            )

    def get_help_text(self):
        return f"Your password can be at most {self.max_length} characters."


def validate_email_domain(value: str) -> None:
    """Refuse an address whose domain has no IDNA (UTS #46) ASCII form: it could
    not be stored canonically, so it could not be kept unique."""
    if not identifiers.email_domain_is_valid(value):
        raise ValidationError("Enter a valid email address.", code="invalid")
