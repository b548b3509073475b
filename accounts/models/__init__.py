"""The account data, one module per concern; importers write
`from accounts.models import User` as before."""

from accounts.models.audit import AuthEvent, RateCounter
from accounts.models.factors import (
    Authenticator,
    FactorReset,
    PendingStep,
    RecoveryCode,
)
from accounts.models.sessions import BrowserSession, TokenSession
from accounts.models.users import (
    EMAIL_MAX_LENGTH,
    IDENTIFIER_MAX_LENGTH,
    KEY_FIELDS,
    PERSONAL_NAME_MAX_LENGTH,
    REVOCATION_FIELDS,
    USERNAME_MAX_LENGTH,
    Tier,
    User,
)

__all__ = [
    "EMAIL_MAX_LENGTH",
    "IDENTIFIER_MAX_LENGTH",
    "KEY_FIELDS",
    "PERSONAL_NAME_MAX_LENGTH",
    "REVOCATION_FIELDS",
    "USERNAME_MAX_LENGTH",
    "Authenticator",
    "AuthEvent",
    "FactorReset",
    "PendingStep",
    "RateCounter",
    "RecoveryCode",
    "Tier",
    "TokenSession",
    "BrowserSession",
    "User",
]
