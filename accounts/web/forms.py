"""The pages' forms: they check the shape of what was typed and show the services'
refusals next to the field they concern. The account rules themselves live in
accounts.services; nothing here decides who may do what.
"""

from django import forms
from django.contrib.auth.forms import AuthenticationForm, UsernameField
from django.contrib.auth.password_validation import password_validators_help_text_html
from django.core.exceptions import ValidationError
from django.views.decorators.debug import sensitive_variables

from accounts import services
from accounts.errors import ServiceError
from accounts.http import client_of, device_of
from accounts.models import (
    EMAIL_MAX_LENGTH,
    IDENTIFIER_MAX_LENGTH,
    PERSONAL_NAME_MAX_LENGTH,
    USERNAME_MAX_LENGTH,
    User,
)

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


def _current_password_field(label="Password") -> forms.CharField:
    # strip=False: leading or trailing spaces are part of a password.
    return forms.CharField(
        label=label,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
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


class SignInForm(AuthenticationForm):
    """Django's login form, authenticating through services.sign_in so the pages
    and the admin apply the API's rules (inactive, soft-deleted, unverified)."""

    username = UsernameField(
        label="Email or username",
        max_length=IDENTIFIER_MAX_LENGTH,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = _current_password_field()

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.service_error = None
        # AuthenticationForm caps the field at the username's length; an email
        # address may be longer.
        self.fields["username"].max_length = IDENTIFIER_MAX_LENGTH
        self.fields["username"].widget.attrs["maxlength"] = IDENTIFIER_MAX_LENGTH

    @sensitive_variables("password")
    def clean(self):
        identifier = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if identifier and password:
            try:
                signed_in = services.sign_in(
                    identifier=identifier,
                    password=password,
                    client=client_of(self.request)
                    if self.request
                    else services.NO_CLIENT,
                    device=device_of(self.request) if self.request else None,
                )
            except ServiceError as error:
                self.service_error = error
                raise ValidationError(error.message, code=error.code) from None
            self.user_cache = signed_in.user
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data

    def confirm_login_allowed(self, user):
        """The service already refused inactive accounts; nothing more for pages."""


class AdminSignInForm(SignInForm):
    """The admin's login: the same rules as the pages, and staff only."""

    required_css_class = "required"

    def confirm_login_allowed(self, user):
        if not user.is_staff:
            raise ValidationError(
                "This account has no access to the admin.", code="not_staff"
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
    old_password = _current_password_field("Current password")
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
        help_text="If you change it, we email a link to the new address to verify it."
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
    password = _current_password_field("Current password")
