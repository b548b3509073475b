"""The business-rule errors raised by accounts.services.

Each door maps them once: the API in accounts/api/exception_handler.py, the
pages in their forms. An error either belongs to input fields (`errors`: field
-> [(message, code)]) or to the request as a whole (`message`, `code`).
"""

import math


class ServiceError(Exception):
    code = "error"
    message = "The request could not be completed."
    # Errors a client must tell apart by machine (reauthenticate, set up a
    # factor, ...) carry their code beside the detail in the API's answer.
    shows_code = False

    def __init__(self, message: str | None = None, *, code: str | None = None):
        self.message = message or self.message
        self.code = code or self.code
        super().__init__(self.message)

    @property
    def errors(self) -> dict[str, list[tuple[str, str]]]:
        return {}


class FieldError(ServiceError):
    """An error about one or more input fields, shown next to the field."""

    field = "non_field_errors"

    def __init__(self, message=None, *, code=None, field=None):
        super().__init__(message, code=code)
        self.field = field or self.field

    @property
    def errors(self):
        return {self.field: [(self.message, self.code)]}


class ValidationFailed(ServiceError):
    """Several field errors at once (e.g. both the email and the username taken)."""

    code = "invalid"

    def __init__(self, errors: dict[str, list[tuple[str, str]]]):
        self._errors = errors
        first = next(iter(errors.values()))[0]
        super().__init__(first[0], code=first[1])

    @property
    def errors(self):
        return self._errors

    @classmethod
    def merge(cls, *field_errors: FieldError) -> "ValidationFailed":
        merged: dict[str, list[tuple[str, str]]] = {}
        for error in field_errors:
            for field, items in error.errors.items():
                merged.setdefault(field, []).extend(items)
        return cls(merged)


class EmailTaken(FieldError):
    field, code, message = "email", "email_taken", "Email already registered"


class UsernameTaken(FieldError):
    field, code, message = "username", "username_taken", "Username already taken"


class IncorrectPassword(FieldError):
    field, code, message = (
        "old_password",
        "incorrect_password",
        "Incorrect current password",
    )
    # True on the wrong answer that used up the session's tries: the session
    # has been revoked (pages sign the browser out).
    session_ended = False


class SessionRevoked(ServiceError):
    """Too many wrong current passwords in this session: it has been revoked."""

    code, message = "session_revoked", "This session has been signed out."


class WeakPassword(ValidationFailed):
    """Django's password validators refused the password."""

    code = "password_invalid"

    def __init__(self, field: str, messages: list[tuple[str, str]]):
        super().__init__({field: messages})


class InvalidCredentials(ServiceError):
    code, message = "invalid_credentials", "Invalid email or password"


class InactiveAccount(ServiceError):
    code, message = "inactive_account", "User account is inactive"


class EmailNotVerified(ServiceError):
    code, message = "email_not_verified", "Email address not verified"


class InvalidToken(ServiceError):
    """A reset or verification link that is expired, used, tampered or foreign."""

    code, message = "invalid_token", "Invalid or expired token"


class InvalidSigninCode(InvalidToken):
    """An emailed sign-in code that is wrong, or its code_token unknown, used,
    expired or outdated: one answer, so nothing tells which part failed."""

    code, message = "invalid_code", "Invalid or expired code"


class InvalidRefreshToken(ServiceError):
    code, message = "token_not_valid", "Token is invalid or expired"


class RefreshTokenReused(InvalidRefreshToken):
    code = "token_reused"


class NotYourToken(FieldError):
    field, code, message = (
        "refresh_token",
        "not_your_token",
        "This refresh token does not belong to you.",
    )


class SessionNotFound(ServiceError):
    code, message = "not_found", "Not found."


class PermissionDenied(ServiceError):
    code, message = (
        "permission_denied",
        "You do not have permission to perform this action.",
    )


class ReauthenticationRequired(ServiceError):
    """The session has not proved a factor recently enough (REAUTH_WINDOW), or
    only a password where the account has a second factor."""

    code, message, shows_code = (
        "reauthentication_required",
        "Reauthentication required",
        True,
    )


class MfaSetupRequired(ServiceError):
    """MFA_REQUIRED covers the account and this session has not proved a second
    factor: it may only set one up (or sign out)."""

    code, message, shows_code = (
        "mfa_setup_required",
        "Set up two-factor authentication to continue.",
        True,
    )


class Conflict(ServiceError):
    """The request cannot be applied to the account's current state (409)."""

    shows_code = True


class RefreshConflict(Conflict):
    """A refresh token superseded by a refresh moments ago: another tab of the
    same app refreshed first. Nothing is revoked; the client retries with the
    token it now holds."""

    code, message, shows_code = (
        "refresh_conflict",
        "This refresh token was just rotated by another request; "
        "retry with the current one.",
        True,
    )


class EnrolCodeNotNeeded(Conflict):
    """Only a confined session asks for an enrolment code."""

    code, message = (
        "not_confined",
        "This session may set up a second factor without an emailed code.",
    )


class EnrolCodeMissing(FieldError):
    field, code, message = (
        "email_code",
        "required",
        "Enter the code we emailed you to set up a second factor.",
    )


class EnrolCodeInvalid(FieldError):
    field, code, message = "email_code", "invalid_code", "Invalid or expired code"


class FactorResetRefused(Conflict):
    """A factor reset that the account's state forbids now (the `code` says
    why: mfa_not_enabled, email_unverified, email_change_pending,
    email_recently_changed, factor_reset_scheduled)."""

    code, message = "factor_reset_refused", "A factor reset cannot start now."


class Throttled(ServiceError):
    """Too many attempts: from this client, for this address, or (locked) for this
    account from this client."""

    code, message = "throttled", "Too many attempts. Try again later."

    def __init__(self, *, retry_after: int, locked: bool = False):
        self.retry_after = max(1, int(retry_after))
        self.locked = locked
        minutes = math.ceil(self.retry_after / 60)
        wait = (
            f"{self.retry_after} seconds"
            if self.retry_after < 120
            else f"{minutes} minutes"
        )
        super().__init__(f"Too many attempts. Try again in {wait}.")


class ServiceUnavailable(ServiceError):
    code, message = (
        "service_unavailable",
        "Service temporarily unavailable. Try again shortly.",
    )


class NotFound(ServiceError):
    """The thing the request acts on does not exist for this caller (404)."""

    code, message = "not_found", "Not found."


class NoPendingSetup(NotFound):
    message = "No set-up in progress in this session. Start again."


class NoSecondFactor(NotFound):
    message = "No such second factor on this account."


class InvalidMfaToken(ServiceError):
    """An mfa_token that is unknown, expired, used, killed by wrong answers, or
    minted before the account's tokens were revoked."""

    code, message = "invalid_mfa_token", "Invalid or expired mfa_token"


class InvalidCode(FieldError):
    field, code, message = "code", "invalid_code", "Invalid code"
    # As IncorrectPassword: True on the wrong answer that used up a session's
    # tries (reauthentication), so a page can sign the browser out.
    session_ended = False


class SecondFactorRequired(FieldError):
    field, code, message = (
        "code",
        "second_factor_required",
        "A second factor is required",
    )


class SecondFactorLocked(Throttled):
    """100 wrong second-factor answers in a row: refused until the owner
    resets the password by email."""

    code = "second_factor_locked"

    def __init__(self, *, retry_after: int):
        super().__init__(retry_after=retry_after, locked=True)
        self.message = (
            "Too many wrong codes. Reset your password by email to sign in again."
        )


class TotpEnabled(Conflict):
    code, message = "totp_enabled", "An authenticator app is already set up."


class EmailUnverified(Conflict):
    code, message = "email_unverified", "Verify your email address first"


class LastFactorNeedsReset(Conflict):
    """Staff removing an account's last second factor directly: that is what a
    two-factor reset is for (the owner's acceptance by email, then a delay),
    so a talked-into staff member cannot strip an account's protection."""

    code, message = (
        "last_factor",
        "This is the account's last second factor: staff remove it only "
        "through a two-factor reset, which the owner accepts by email.",
    )


class MfaRequired(Conflict):
    """Removing the last second factor of an account MFA_REQUIRED covers."""

    code, message = (
        "mfa_required",
        "Two-factor authentication is required for this account: "
        "add another factor before removing this one.",
    )


class InvalidCredential(FieldError):
    """A WebAuthn credential that does not verify: a registration's
    attestation, or a second factor's or reauthentication's assertion."""

    field, code, message = (
        "credential",
        "invalid_credential",
        "The passkey could not be verified.",
    )
    # As InvalidCode: True on the wrong answer that used up a session's tries.
    session_ended = False


class PasskeyRejected(ServiceError):
    """An assertion refused as a whole (401): in a passwordless sign-in any
    failure, one answer for an unknown credential and a bad signature; in any
    ceremony a dead or foreign challenge, a wrong origin or rp id, or missing
    user presence or verification."""

    code, message = "passkey_rejected", "Passkey not accepted"
    session_ended = False


class NoPasskey(FieldError):
    """Passkey options for a second factor of an account without a passkey."""

    field, code, message = "purpose", "no_passkey", "This account has no passkey."


class PasskeyNotFound(NotFound):
    message = "No such passkey."
