from django.conf import settings
from django.core.exceptions import ValidationError
from zxcvbn import zxcvbn

from accounts import breaches, identifiers

# zxcvbn's own default bound: its matching time grows faster than the length
# (~15 ms at 72 characters, seconds at 512), so longer passwords are judged on
# their first 72 characters. A strong start stays strong whatever follows.
ESTIMATED_LENGTH = 72


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


class PasswordStrengthValidator:
    """Refuse guessable passwords: zxcvbn's score (0-4) must reach the minimum.

    Length rules alone let through repeats, sequences, keyboard walks, l33t
    spellings of common words and the user's own name. The estimator's advice
    becomes the error, so the person knows what to change."""

    def __init__(self, min_score=None):
        self.min_score = settings.PASSWORD_MIN_SCORE if min_score is None else min_score

    def validate(self, password, user=None):
        result = zxcvbn(
            password[:ESTIMATED_LENGTH],
            user_inputs=_user_inputs(user),
            max_length=ESTIMATED_LENGTH,
        )
        if result["score"] >= self.min_score:
            return
        feedback = result["feedback"]
        advice = [feedback.get("warning"), *feedback.get("suggestions", [])]
        raise ValidationError(
            " ".join(
                ["This password is too easy to guess.", *(a for a in advice if a)]
            ),
            code="password_too_guessable",
        )

    def get_help_text(self):
        return (
            "Your password must not be easy to guess: avoid common words and "
            "phrases, names, dates, repeats and keyboard patterns."
        )


def _user_inputs(user) -> list[str]:
    """The account's own details, so a password built from them scores low."""
    if user is None:
        return []
    email, first, last = (
        getattr(user, name, "") or "" for name in ("email", "first_name", "last_name")
    )
    values = [
        getattr(user, "username", "") or "",
        email,
        email.rpartition("@")[0],
        first,
        last,
        # zxcvbn matches whole inputs: "AdaLovelace7" must meet the full name.
        f"{first}{last}",
    ]
    return [value for value in values if isinstance(value, str) and value]


class BreachedPasswordValidator:
    """Refuse a password found in breach corpora (PASSWORD_BREACH_CHECK): attackers
    try those first, whatever their estimated strength."""

    def validate(self, password, user=None):
        if breaches.is_breached(password):
            raise ValidationError(
                "This password has appeared in a data breach, so attackers try it "
                "first. Choose another.",
                code="password_breached",
            )

    def get_help_text(self):
        return "Your password must not appear in known data breaches."


def validate_email_domain(value: str) -> None:
    """Refuse an address whose domain has no IDNA (UTS #46) ASCII form: it could
    not be stored canonically, so it could not be kept unique."""
    if not identifiers.email_domain_is_valid(value):
        raise ValidationError("Enter a valid email address.", code="invalid")
