"""Forms shown by more than one door: the pages and the admin sign people in
with the same form, through the same service (services.sign_in)."""

from django import forms
from django.contrib.auth.forms import AuthenticationForm, UsernameField
from django.core.exceptions import ValidationError
from django.views.decorators.debug import sensitive_variables

from accounts import services
from accounts.errors import ServiceError
from accounts.http import client_of, device_of
from accounts.models import IDENTIFIER_MAX_LENGTH


def current_password_field(label="Password") -> forms.CharField:
    # strip=False: leading or trailing spaces are part of a password.
    return forms.CharField(
        label=label,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


SECOND_FACTOR_NEEDED = "Enter a code from your authenticator app to continue."


class CodeInput(forms.TextInput):
    """A one-time code's box: like a password, never shown again after a
    refused attempt (a code is a credential)."""

    def format_value(self, value):
        return None


def code_field() -> forms.CharField:
    return forms.CharField(
        label="Authentication code",
        max_length=64,
        help_text="The 6-digit code from your authenticator app, or one of "
        "your recovery codes.",
        widget=CodeInput(
            attrs={
                "autocomplete": "one-time-code",
                "autocapitalize": "characters",
                "spellcheck": "false",
            }
        ),
    )


class SignInForm(AuthenticationForm):
    """Django's login form, authenticating through services.sign_in so the pages
    and the admin apply the API's rules (inactive, soft-deleted, unverified)."""

    username = UsernameField(
        label="Email or username",
        max_length=IDENTIFIER_MAX_LENGTH,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = current_password_field()

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.service_error = None
        # Set when the password was right and a second factor must follow.
        self.second_factor = None
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
            if isinstance(signed_in, services.SecondFactorNeeded):
                self.confirm_login_allowed(signed_in.user)
                self.second_factor = signed_in
                if self.request is not None:
                    self.request.second_factor = signed_in
                # The form never validates here, so no LoginView (ours or the
                # admin's) can log the browser in before the second factor; a
                # door that forgot the next step fails closed.
                raise ValidationError(SECOND_FACTOR_NEEDED, code="second_factor_needed")
            self.user_cache = signed_in.user
            # What the sign-in proved, for the view that logs the browser in
            # (the pages' SignInView, the admin's login) to keep in the session.
            self.request.proved = signed_in.assurance
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data

    def confirm_login_allowed(self, user):
        """The service already refused inactive accounts; nothing more for pages."""
