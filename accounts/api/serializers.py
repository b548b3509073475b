"""Input shapes and output shapes of the JSON API. Rules live in accounts.services."""

from django.conf import settings
from rest_framework import serializers

from accounts.models import (
    EMAIL_MAX_LENGTH,
    IDENTIFIER_MAX_LENGTH,
    PERSONAL_NAME_MAX_LENGTH,
    USERNAME_MAX_LENGTH,
    Tier,
    TokenSession,
)

PASSWORD_FIELD = {
    "max_length": settings.PASSWORD_MAX_LENGTH,
    "trim_whitespace": False,
    "style": {"input_type": "password"},
}


class StrictSerializer(serializers.Serializer):
    """Refuses unknown and read-only fields by name instead of ignoring them, so
    a client can never believe it set `is_staff` (mass assignment)."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError(
                {"non_field_errors": ["Expected a JSON object."]}, code="invalid"
            )
        writable = {name for name, field in self.fields.items() if not field.read_only}
        unknown = sorted(set(data) - writable)
        if unknown:
            raise serializers.ValidationError(
                {name: ["This field is not allowed."] for name in unknown},
                code="not_allowed",
            )
        return super().to_internal_value(data)


def _text(max_length, **kwargs):
    return serializers.CharField(max_length=max_length, **kwargs)


# Declared field by field rather than as a ModelSerializer, which rebuilds its
# fields from the model on every instantiation: a fifth of a millisecond on every
# sign-in and /users/me. (A comment: a docstring would become the schema's text.)
class UserSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    username = serializers.CharField(read_only=True)
    email = serializers.EmailField(read_only=True)
    first_name = serializers.CharField(read_only=True)
    last_name = serializers.CharField(read_only=True)
    email_verified = serializers.BooleanField(read_only=True)
    is_active = serializers.BooleanField(read_only=True)
    date_joined = serializers.DateTimeField(read_only=True)
    last_login = serializers.DateTimeField(read_only=True, allow_null=True)


class SignUpSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=EMAIL_MAX_LENGTH)
    username = _text(USERNAME_MAX_LENGTH)
    password = _text(**PASSWORD_FIELD)
    first_name = _text(
        PERSONAL_NAME_MAX_LENGTH, required=False, allow_blank=True, default=""
    )
    last_name = _text(
        PERSONAL_NAME_MAX_LENGTH, required=False, allow_blank=True, default=""
    )


class SignInSerializer(StrictSerializer):
    email = _text(IDENTIFIER_MAX_LENGTH, required=False)
    username = _text(IDENTIFIER_MAX_LENGTH, required=False)
    password = _text(**PASSWORD_FIELD)

    def validate(self, attrs):
        identifier = attrs.get("email") or attrs.get("username")
        if not identifier:
            raise serializers.ValidationError(
                {"email": ["Give an email address or a username."]}, code="required"
            )
        return {"identifier": identifier, "password": attrs["password"]}


# An mfa_token is 43 characters and a code at most a spaced-out recovery code;
# the caps only stop absurd bodies before any lookup.
MFA_TOKEN_MAX_LENGTH = 256
CODE_MAX_LENGTH = 64


# A challenge_token is 43 characters; the cap only stops absurd bodies.
CHALLENGE_TOKEN_MAX_LENGTH = 256


class CredentialField(serializers.DictField):
    """A WebAuthn credential in the browser's toJSON() form (base64url
    strings); py_webauthn reads its parts."""

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "help_text",
            "PublicKeyCredential.toJSON(): id, rawId, type, response "
            "(base64url), clientExtensionResults, authenticatorAttachment.",
        )
        super().__init__(allow_empty=False, **kwargs)


def _passkey_answer(attrs, *, others: tuple[str, ...]) -> None:
    """Exactly one way to answer: a passkey (challenge_token with credential)
    or one of `others`."""
    passkey = {"challenge_token", "credential"} & set(attrs)
    given = [name for name in others if name in attrs]
    if passkey and len(passkey) != 2:
        missing = ({"challenge_token", "credential"} - passkey).pop()
        raise serializers.ValidationError(
            {missing: ["This field is required with a passkey."]}, code="required"
        )
    if not given and not passkey and len(others) == 1:
        raise serializers.ValidationError(
            {others[0]: ["This field is required."]}, code="required"
        )
    if len(given) + bool(passkey) != 1:
        choices = " or ".join(others)
        raise serializers.ValidationError(
            {
                "non_field_errors": [
                    f"Give either {choices}, or challenge_token with credential."
                ]
            },
            code="required",
        )


class SignInMfaSerializer(StrictSerializer):
    mfa_token = _text(MFA_TOKEN_MAX_LENGTH)
    code = _text(CODE_MAX_LENGTH, required=False)
    challenge_token = _text(CHALLENGE_TOKEN_MAX_LENGTH, required=False)
    credential = CredentialField(required=False)

    def validate(self, attrs):
        _passkey_answer(attrs, others=("code",))
        return attrs


class SignInCodeSerializer(StrictSerializer):
    code_token = _text(MFA_TOKEN_MAX_LENGTH)
    code = _text(CODE_MAX_LENGTH)


class CodeTokenSerializer(serializers.Serializer):
    code_token = serializers.CharField()


class MfaRequiredSerializer(serializers.Serializer):
    mfa_required = serializers.BooleanField()
    mfa_token = serializers.CharField()
    methods = serializers.ListField(
        child=serializers.ChoiceField(["totp", "recovery_code", "passkey"])
    )
    expires_in = serializers.IntegerField()


class ReauthenticateSerializer(StrictSerializer):
    password = _text(**PASSWORD_FIELD, required=False)
    code = _text(CODE_MAX_LENGTH, required=False)
    challenge_token = _text(CHALLENGE_TOKEN_MAX_LENGTH, required=False)
    credential = CredentialField(required=False)

    def validate(self, attrs):
        _passkey_answer(attrs, others=("password", "code"))
        return attrs


class AccessTokenResponseSerializer(serializers.Serializer):
    access_token = serializers.CharField()
    token_type = serializers.CharField()
    expires_in = serializers.IntegerField()


# Our refresh tokens are well under a kilobyte; the cap only keeps a hostile
# body from reaching the JWT decoder.
REFRESH_TOKEN_MAX_LENGTH = 4096


class RefreshTokenSerializer(StrictSerializer):
    refresh_token = _text(REFRESH_TOKEN_MAX_LENGTH)


class ChangePasswordSerializer(StrictSerializer):
    old_password = _text(**PASSWORD_FIELD)
    new_password = _text(**PASSWORD_FIELD)


class EmailSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=EMAIL_MAX_LENGTH)


# Link parts are checked by the service, which answers any wrong one with
# "Invalid or expired token"; the lengths only stop absurd bodies.
LINK_PART = 1024


class ResetPasswordSerializer(StrictSerializer):
    uid = _text(LINK_PART)
    token = _text(LINK_PART)
    new_password = _text(**PASSWORD_FIELD)


class VerifyEmailSerializer(StrictSerializer):
    uid = _text(LINK_PART)
    token = _text(LINK_PART)


class UpdateProfileSerializer(StrictSerializer):
    username = _text(USERNAME_MAX_LENGTH)
    email = serializers.EmailField(max_length=EMAIL_MAX_LENGTH)
    first_name = _text(PERSONAL_NAME_MAX_LENGTH, allow_blank=True)
    last_name = _text(PERSONAL_NAME_MAX_LENGTH, allow_blank=True)


class DeleteAccountSerializer(StrictSerializer):
    password = _text(**PASSWORD_FIELD)


class TokenResponseSerializer(serializers.Serializer):
    access_token = serializers.CharField()
    refresh_token = serializers.CharField(
        required=False,
        help_text="Absent for a cookie session (X-Token-Transport: cookie): "
        "the refresh token is in its HttpOnly cookie.",
    )
    token_type = serializers.CharField()
    expires_in = serializers.IntegerField()
    user = UserSerializer(required=False)


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


class CodedDetailSerializer(DetailSerializer):
    code = serializers.CharField()


class EnrolCodeSentSerializer(DetailSerializer):
    expires_in = serializers.IntegerField(help_text="Seconds the code stays valid.")


class SignUpPendingSerializer(DetailSerializer):
    user = UserSerializer()


class SessionSerializer(serializers.ModelSerializer):
    current = serializers.SerializerMethodField()

    class Meta:
        model = TokenSession
        fields = ["id", "created_at", "expires_at", "ip", "user_agent", "current"]

    def get_current(self, session) -> bool:
        return str(session.pk) == self.context.get("current_session_id")


class HealthSerializer(serializers.Serializer):
    status = serializers.CharField()
    database = serializers.CharField()
    cache = serializers.CharField(required=False)


def _tier_name(**kwargs):
    """A tier, read and written as its name."""
    return serializers.SlugRelatedField(
        slug_field="name",
        error_messages={"does_not_exist": "Unknown tier.", "invalid": "Unknown tier."},
        **kwargs,
    )


def _tier_name_shown():
    # Read through the relation, which the views and the authentication load
    # with select_related.
    return serializers.CharField(source="tier.name", read_only=True, allow_null=True)


def _pending_email():
    return serializers.EmailField(
        source="live_pending_email", read_only=True, allow_null=True
    )


class MeSerializer(UserSerializer):
    """The caller's own account as /users/me shows it: the user object plus the
    tier name and the address change waiting for confirmation (the token
    responses' `user` stays the contract's user object)."""

    tier = _tier_name_shown()
    pending_email = _pending_email()


class EmailChangeTokenSerializer(StrictSerializer):
    token = _text(LINK_PART)


class StaffUserSerializer(UserSerializer):
    is_staff = serializers.BooleanField(read_only=True)
    is_superuser = serializers.BooleanField(read_only=True)
    deleted_at = serializers.DateTimeField(read_only=True, allow_null=True)
    tier = _tier_name_shown()
    pending_email = _pending_email()


class StaffCreateUserSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=EMAIL_MAX_LENGTH)
    username = _text(USERNAME_MAX_LENGTH)
    password = _text(**PASSWORD_FIELD, required=False)
    first_name = _text(PERSONAL_NAME_MAX_LENGTH, required=False, allow_blank=True)
    last_name = _text(PERSONAL_NAME_MAX_LENGTH, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)
    is_staff = serializers.BooleanField(required=False)
    is_superuser = serializers.BooleanField(required=False)
    email_verified = serializers.BooleanField(required=False)
    tier = _tier_name(queryset=Tier.objects.all(), required=False, allow_null=True)


class StaffUpdateUserSerializer(StaffCreateUserSerializer):
    password = None
    # A superuser switching the address at once, for an owner who lost the old
    # mailbox; otherwise a new email only becomes pending.
    force_email = serializers.BooleanField(required=False)
    reason = _text(1000, required=False)


class StaffUserQuerySerializer(StrictSerializer):
    """The staff list's query string; unknown parameters are refused by name."""

    ORDERINGS = ["date_joined", "username", "email", "last_login"]

    search = _text(IDENTIFIER_MAX_LENGTH, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False, allow_null=True, default=None)
    is_staff = serializers.BooleanField(required=False, allow_null=True, default=None)
    email_verified = serializers.BooleanField(
        required=False, allow_null=True, default=None
    )
    ordering = serializers.ChoiceField(
        choices=[*ORDERINGS, *[f"-{o}" for o in ORDERINGS]],
        required=False,
        default="-date_joined",
    )
    cursor = _text(1000, required=False)
    page_size = serializers.IntegerField(
        min_value=1, max_value=200, required=False, default=50
    )


class EmptySerializer(StrictSerializer):
    """No fields: anything sent is refused by name."""


class TotpCodeSerializer(StrictSerializer):
    # Six digits; the length cap only keeps absurd input away from the check.
    code = _text(32)
    # Needed only while the session is confined (MFA_REQUIRED): the code that
    # POST /auth/mfa/enrol-code emailed.
    email_code = _text(32, required=False)


class TotpStatusSerializer(serializers.Serializer):
    enabled = serializers.BooleanField()
    created_at = serializers.DateTimeField(allow_null=True)


class RecoveryCodeCountSerializer(serializers.Serializer):
    remaining = serializers.IntegerField()


class PasskeySerializer(serializers.Serializer):
    # Never the credential id or the public key: a page needs neither, and
    # the id would let anyone who sees the list aim an assertion at it.
    id = serializers.UUIDField(read_only=True)
    name = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    last_used_at = serializers.DateTimeField(read_only=True, allow_null=True)


class PasskeyRegisteredSerializer(PasskeySerializer):
    recovery_codes = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="Only when this passkey is the account's first factor.",
    )


class MfaStatusSerializer(serializers.Serializer):
    totp = TotpStatusSerializer()
    recovery_codes = RecoveryCodeCountSerializer()
    passkeys = PasskeySerializer(many=True)

    def to_representation(self, status):
        return {
            "totp": {
                "enabled": status.totp is not None,
                "created_at": (
                    serializers.DateTimeField().to_representation(
                        status.totp.created_at
                    )
                    if status.totp
                    else None
                ),
            },
            "recovery_codes": {"remaining": status.recovery_codes_remaining},
            "passkeys": PasskeySerializer(status.passkeys, many=True).data,
        }


class TotpSetupSerializer(serializers.Serializer):
    secret = serializers.CharField()
    otpauth_uri = serializers.CharField()
    qr_svg = serializers.CharField()


class RecoveryCodesSerializer(serializers.Serializer):
    recovery_codes = serializers.ListField(child=serializers.CharField())


class TotpConfirmedSerializer(serializers.Serializer):
    recovery_codes = serializers.ListField(
        child=serializers.CharField(), required=False
    )


class WebAuthnOptionsRequestSerializer(StrictSerializer):
    purpose = serializers.ChoiceField(["register", "signin", "mfa", "reauth"])
    mfa_token = _text(MFA_TOKEN_MAX_LENGTH, required=False)

    def validate(self, attrs):
        if attrs["purpose"] == "mfa" and not attrs.get("mfa_token"):
            raise serializers.ValidationError(
                {"mfa_token": ["This field is required for purpose mfa."]},
                code="required",
            )
        if attrs["purpose"] != "mfa" and "mfa_token" in attrs:
            raise serializers.ValidationError(
                {"mfa_token": ["Only for purpose mfa."]}, code="not_allowed"
            )
        return attrs


class WebAuthnOptionsSerializer(serializers.Serializer):
    options = serializers.DictField(
        help_text="PublicKeyCredentialCreationOptionsJSON (register) or "
        "PublicKeyCredentialRequestOptionsJSON: pass it to "
        "PublicKeyCredential.parseCreationOptionsFromJSON / "
        "parseRequestOptionsFromJSON."
    )
    challenge_token = serializers.CharField(
        help_text="Send it back with the credential; single use, 5 minutes."
    )


class PasskeyRegisterSerializer(StrictSerializer):
    challenge_token = _text(CHALLENGE_TOKEN_MAX_LENGTH)
    credential = CredentialField()
    name = _text(100, required=False, allow_blank=True)
    # Needed only while the session is confined (MFA_REQUIRED).
    email_code = _text(32, required=False)


class PasskeyRenameSerializer(StrictSerializer):
    name = _text(100)


class PasskeySignInSerializer(StrictSerializer):
    challenge_token = _text(CHALLENGE_TOKEN_MAX_LENGTH)
    credential = CredentialField()
