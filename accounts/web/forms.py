"""The pages' forms: they check the shape of what was typed and show the services'
refusals next to the field they concern. The account rules themselves live in
accounts.services; nothing here decides who may do what.
"""

import json

from django import forms
from django.contrib.auth.forms import UsernameField
from django.contrib.auth.password_validation import password_validators_help_text_html
from django.core.exceptions import ValidationError

from accounts.errors import EnrolCodeMissing, InvalidCredential, ServiceError
from accounts.forms import code_field, current_password_field
from accounts.models import (
    EMAIL_MAX_LENGTH,
    PERSONAL_NAME_MAX_LENGTH,
    USERNAME_MAX_LENGTH,
    User,
)
from accounts.services.passkeys import NAME_MAX_LENGTH as PASSKEY_NAME_MAX_LENGTH

PASSWORD_MISMATCH = "The two passwords do not match."


class ServiceErrorsMixin:
    def add_service_error(self, error: ServiceError) -> None:
        """Show a service's refusal where the user looks for it: under the field it
        names, or above the form when it concerns the whole request."""
        if not error.errors:
            self.add_error(None, ValidationError(error.message, code=error.code))
            return
        for field, items in error.errors.items():
            target = field if field in self.fields else None
            for message, code in items:
                self.add_error(target, ValidationError(message, code=code))


def _email_field(**kwargs) -> forms.EmailField:
    return forms.EmailField(
        label="Email",
        max_length=EMAIL_MAX_LENGTH,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        **kwargs,
    )


def _username_field() -> UsernameField:
    return UsernameField(
        label="Username",
        max_length=USERNAME_MAX_LENGTH,
        help_text=User._meta.get_field("username").help_text,
        widget=forms.TextInput(attrs={"autocomplete": "username"}),
    )


def _new_password_field(label="New password", with_help=True) -> forms.CharField:
    return forms.CharField(
        label=label,
        strip=False,
        # A callable, so the text follows the validators configured at render time.
        help_text=password_validators_help_text_html if with_help else "",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


class NewPasswordMixin:
    """A new password typed twice; the service judges its strength."""

    password_fields = ("new_password", "new_password_confirmation")

    def clean(self):
        cleaned_data = super().clean()
        first, second = (cleaned_data.get(name) for name in self.password_fields)
        if first and second and first != second:
            self.add_error(
                self.password_fields[1],
                ValidationError(PASSWORD_MISMATCH, code="password_mismatch"),
            )
        return cleaned_data


class SignUpForm(NewPasswordMixin, ServiceErrorsMixin, forms.Form):
    password_fields = ("password", "password_confirmation")

    email = _email_field()
    username = _username_field()
    password = _new_password_field("Password")
    password_confirmation = _new_password_field(
        "Password confirmation", with_help=False
    )


class ForgotPasswordForm(ServiceErrorsMixin, forms.Form):
    email = _email_field()


class ResendVerificationForm(ServiceErrorsMixin, forms.Form):
    email = _email_field()


class ResetPasswordForm(NewPasswordMixin, ServiceErrorsMixin, forms.Form):
    new_password = _new_password_field()
    new_password_confirmation = _new_password_field(
        "New password confirmation", with_help=False
    )


class ChangePasswordForm(NewPasswordMixin, ServiceErrorsMixin, forms.Form):
    old_password = current_password_field("Current password")
    new_password = _new_password_field()
    new_password_confirmation = _new_password_field(
        "New password confirmation", with_help=False
    )

    def __init__(self, user=None, *args, **kwargs):
        # PasswordChangeView passes the user; the service is what checks it.
        self.user = user
        super().__init__(*args, **kwargs)


class ProfileForm(ServiceErrorsMixin, forms.Form):
    """Not a ModelForm on purpose: a ModelForm writes the typed values onto the
    user object while validating, so a refused change would show in the header
    of the page that refuses it."""

    username = _username_field()
    email = _email_field(
        help_text="If you change it, we email a link to the new address: your "
        "address changes when you open it."
    )
    first_name = forms.CharField(
        label="First name",
        max_length=PERSONAL_NAME_MAX_LENGTH,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    last_name = forms.CharField(
        label="Last name",
        max_length=PERSONAL_NAME_MAX_LENGTH,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
    )

    def changes(self) -> dict[str, str]:
        """Only what the user actually changed, so an untouched field is neither
        re-checked nor recorded as an edit."""
        return {name: self.cleaned_data[name] for name in self.changed_data}


class DeleteAccountForm(ServiceErrorsMixin, forms.Form):
    password = current_password_field("Current password")


class TotpConfirmForm(ServiceErrorsMixin, forms.Form):
    code = forms.CharField(
        label="Code from the app",
        max_length=32,
        help_text="The six digits your authenticator app shows now.",
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "autocapitalize": "off",
                "spellcheck": "false",
            }
        ),
    )

    # Shown and required only while the session is confined (MFA_REQUIRED): a
    # password alone must not be enough to enrol the thief's authenticator.
    email_code = forms.CharField(
        label="Code from the email",
        max_length=32,
        required=False,
        help_text="Your account must have two-factor authentication: enter the "
        "code we emailed you too.",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autocapitalize": "characters"}
        ),
    )

    def __init__(self, *args, confined: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email_code"].required = confined

    def forget_code(self) -> None:
        """A wrong code is shown as an error, never typed back into the page."""
        self.data = self.data.copy()
        self.data["code"] = ""
        self.data["email_code"] = ""


class SignInMfaForm(ServiceErrorsMixin, forms.Form):
    code = code_field()


class SignInCodeRequestForm(ServiceErrorsMixin, forms.Form):
    email = _email_field()


class SignInCodeForm(ServiceErrorsMixin, forms.Form):
    code = code_field()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The shared code box speaks of authenticator apps and recovery codes,
        # which would send a person to the wrong place for this one.
        self.fields["code"].label = "Code from the email"
        self.fields["code"].help_text = "The 6 characters in the email we sent you."


class ReauthenticateForm(ServiceErrorsMixin, forms.Form):
    """The password for an account without a second factor, a code for one
    with (a password alone never counts there)."""

    password = current_password_field()
    code = code_field()

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["password" if user.has_mfa else "code"]


# What a passkey ceremony posts back (passkeys.js fills the hidden fields): the
# credential as the browser's toJSON() gives it, a few hundred characters; the
# cap only stops junk before it reaches the JSON parser.
CREDENTIAL_MAX_LENGTH = 16_384


class PasskeyAnswerForm(ServiceErrorsMixin, forms.Form):
    """The answer of navigator.credentials.create() or .get(): the options'
    challenge_token and the credential JSON. Only its shape is checked here;
    the services verify it."""

    challenge_token = forms.CharField(max_length=200, widget=forms.HiddenInput)
    credential = forms.CharField(
        max_length=CREDENTIAL_MAX_LENGTH, widget=forms.HiddenInput
    )

    def clean_credential(self):
        try:
            credential = json.loads(self.cleaned_data["credential"])
        except ValueError:
            credential = None
        if not isinstance(credential, dict):
            raise ValidationError(InvalidCredential.message, code="invalid_credential")
        return credential

    def clean(self):
        # The hidden fields' errors (no answer, or junk) are one error of the
        # form: the page has nothing to point at.
        cleaned_data = super().clean()
        missing = [self.errors.pop(name, None) for name in self.answer_fields]
        if any(missing):
            self.add_error(
                None, ValidationError(InvalidCredential.message, code="no_answer")
            )
        return cleaned_data

    answer_fields = ("challenge_token", "credential")


class PasskeyAddForm(PasskeyAnswerForm):
    name = forms.CharField(
        label="Name",
        max_length=PASSKEY_NAME_MAX_LENGTH,
        required=False,
        help_text="So you can tell your passkeys apart, for example “Work laptop”. "
        "Left empty, we name it after the device when we know it.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    # As TotpConfirmForm's: shown and required only in a confined session.
    email_code = TotpConfirmForm.base_fields["email_code"]

    field_order = ["name", "email_code", "challenge_token", "credential"]

    def __init__(self, *args, confined: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        email_code = self.fields["email_code"]
        email_code.required = confined
        if confined:
            email_code.widget.attrs["required"] = True
            email_code.error_messages["required"] = EnrolCodeMissing.message

    def forget_email_code(self) -> None:
        """A wrong emailed code is never typed back into the page. The passkey
        answer stays: its challenge lives on until a success, so the owner
        retypes the code without making another passkey on the device."""
        self.data = self.data.copy()
        self.data["email_code"] = ""

    def forget_answer(self) -> None:
        """A refused passkey answer is not offered again."""
        self.data = self.data.copy()
        self.data["challenge_token"] = ""
        self.data["credential"] = ""


class PasskeyRenameForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(label="Name", max_length=PASSKEY_NAME_MAX_LENGTH)
