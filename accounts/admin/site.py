"""The admin site itself, wired to the account rules: staff sign in through
services.sign_in, change their own password on the site's page, and the
sign-in remembers the browser as the pages' sign-in does."""

from functools import wraps

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import reverse

from accounts.forms import SignInForm
from accounts.request_assurance import continue_to_second_factor, remember_sign_in


class AdminSignInForm(SignInForm):
    """The admin's login: the same rules as the pages, and staff only."""

    required_css_class = "required"

    def confirm_login_allowed(self, user):
        if not user.is_staff:
            raise ValidationError(
                "This account has no access to the admin.", code="not_staff"
            )


def configure(site: admin.AdminSite = admin.site) -> None:
    """Called once, from AccountsConfig.ready()."""
    # The admin signs staff in through services.sign_in too, so an inactive or
    # soft-deleted staff account is refused there as everywhere else.
    site.login_form = AdminSignInForm
    # Staff change their own password through the same rule as everyone (every
    # other session and token revoked, notice emailed), not through the admin's
    # bare form.
    site.password_change = _change_password_page
    # The admin's sign-in keeps what it proved and marks the browser, like the
    # pages' sign-in does.
    site.login = _remembering_sign_in(site.login)


def _change_password_page(request, extra_context=None):
    return redirect("accounts:change_password")


def _remembering_sign_in(login_view):
    @wraps(login_view)
    def login(request, extra_context=None):
        was_signed_in = request.user.is_authenticated
        response = login_view(request, extra_context)
        pending = getattr(request, "second_factor", None)
        if pending is not None:
            # The same second step as the pages; it ends in the admin.
            return continue_to_second_factor(
                request, pending, request.POST.get("next") or reverse("admin:index")
            )
        if (
            request.method == "POST"
            and not was_signed_in
            and request.user.is_authenticated
        ):
            remember_sign_in(request, response, request.user)
        return response

    return login
