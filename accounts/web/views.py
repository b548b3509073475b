"""The HTML door: each view parses a form, calls one service, then renders or
redirects. Sessions, messages and redirects live here; account rules do not.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.views import LoginView, LogoutView, PasswordChangeView
from django.core.exceptions import NON_FIELD_ERRORS
from django.shortcuts import redirect
from django.urls import reverse, reverse_lazy
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.generic import FormView, TemplateView

from accounts import selectors, services
from accounts.errors import (
    EmailNotVerified,
    InvalidToken,
    ServiceError,
    SessionNotFound,
    SessionRevoked,
    Throttled,
)
from accounts.forms import SignInForm
from accounts.http import client_of, remember_device
from accounts.web.display import describe_device, event_label
from accounts.web.error_pages import too_many_requests
from accounts.web.forms import (
    ChangePasswordForm,
    DeleteAccountForm,
    ForgotPasswordForm,
    ProfileForm,
    ResendVerificationForm,
    ResetPasswordForm,
    SignUpForm,
)

# The placeholders that replace an emailed token in the URL once the token is in
# the session (Django's PasswordResetConfirmView does the same).
RESET_URL_TOKEN = "set-password"
RESET_SESSION_KEY = "_reset_password_token"
VERIFY_URL_TOKEN = "confirm"
# The verification link's token waits for the button in a cookie, not in the
# session: opening a link (or a forged one) must not write a session row for
# an anonymous visitor, or anyone could fill the session table with GETs.
VERIFY_COOKIE = "verify_email_token"
VERIFY_COOKIE_SALT = "accounts.web.verify_email"
VERIFY_COOKIE_MAX_AGE = 60 * 60

# A new account was created, not authenticated: login() must be told which
# backend loads the user on later requests.
SIGN_IN_BACKEND = "accounts.backends.EmailOrUsernameBackend"


class SignedInMixin(LoginRequiredMixin):
    """A page of one's own account: anonymous visitors go to sign in (with
    `next`), and nothing is cached, so after signing out on a shared computer
    the back button cannot bring the page back."""

    @method_decorator(never_cache)
    def dispatch(self, request, *args, **kwargs):
        return super().dispatch(request, *args, **kwargs)


class SignedOutMixin:
    """Pages for visitors only: a signed-in user has nothing to do there."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            return redirect("home")
        return super().dispatch(request, *args, **kwargs)


class ServiceFormMixin:
    """For form views that call a service: show its refusal on the form."""

    def refuse(self, form, error: ServiceError):
        if getattr(error, "session_ended", False) or isinstance(error, SessionRevoked):
            return signed_out_for_wrong_passwords(self.request)
        if isinstance(error, Throttled):
            return too_many_requests(self.request, error)
        form.add_service_error(error)
        return self.form_invalid(form)


def session_name(request) -> str:
    """The browser session as the services' per-session counters name it."""
    if not request.session.session_key:
        request.session.save()
    return f"web:{request.session.session_key}"


def signed_out_for_wrong_passwords(request):
    """The session gave too many wrong current passwords (a stolen session
    guessing the password): end it, as the API revokes its session."""
    logout(request)
    messages.error(
        request,
        "You have been signed out after too many wrong passwords. "
        "Sign in again to continue.",
    )
    return redirect("accounts:signin")


def too_many_attempts(error: ServiceError, response):
    """A throttled attempt still shows the page, with the status and Retry-After
    that tell scripts (and the user's browser) it was rate-limited."""
    retry_after = getattr(error, "retry_after", None)
    if retry_after:
        response.status_code = 429
        response["Retry-After"] = str(retry_after)
    return response


def link_throttled(view, error: Throttled):
    """An emailed link tried too often from this address: say so (not "invalid
    link", which would send the owner of a good link looking for a new one)."""
    response = view.render_to_response({"validlink": False, "throttled": error})
    return too_many_attempts(error, response)


class HomeView(TemplateView):
    template_name = "accounts/home.html"


@method_decorator(
    sensitive_post_parameters("password", "password_confirmation"), name="dispatch"
)
class SignUpView(ServiceFormMixin, SignedOutMixin, FormView):
    template_name = "accounts/signup.html"
    form_class = SignUpForm

    def form_valid(self, form):
        try:
            result = services.sign_up(
                email=form.cleaned_data["email"],
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
                client=client_of(self.request),
            )
        except ServiceError as error:
            return self.refuse(form, error)
        if not services.may_sign_in_unverified(result.user):
            return redirect("accounts:signup_done")
        login(self.request, result.user, backend=SIGN_IN_BACKEND)
        messages.success(
            self.request, f"Welcome, {result.user.username}! Your account is ready."
        )
        return redirect("home")


class SignUpDoneView(TemplateView):
    template_name = "accounts/signup_done.html"


class SignInView(LoginView):
    """Django's LoginView keeps its safe handling of `next`: a URL on another
    host or scheme (https://evil.example, //evil.example, /\\evil.example) is
    dropped for the default page, so the form cannot be an open redirect."""

    template_name = "accounts/signin.html"
    form_class = SignInForm
    redirect_authenticated_user = True
    next_page = "home"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # LoginView names the site after the request's Host header; keep ours.
        context["site_name"] = settings.SITE_NAME
        context["unverified"] = context["form"].has_error(
            NON_FIELD_ERRORS, EmailNotVerified.code
        )
        return context

    def form_valid(self, form):
        response = super().form_valid(form)
        remember_device(response, form.get_user())
        return response

    def form_invalid(self, form):
        return too_many_attempts(form.service_error, super().form_invalid(form))


class SignOutView(LogoutView):
    """POST only (Django's LogoutView): a GET link or an <img> on another site
    cannot sign anyone out (CSRF)."""

    next_page = "home"

    def post(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            services.record_browser_sign_out(
                user=request.user, client=client_of(request)
            )
        response = super().post(request, *args, **kwargs)
        messages.info(request, "You are signed out.")
        return response


class ForgotPasswordView(ServiceFormMixin, FormView):
    template_name = "accounts/forgot_password.html"
    form_class = ForgotPasswordForm
    success_url = reverse_lazy("accounts:forgot_password_done")

    def form_valid(self, form):
        # The same confirmation whether or not the address has an account
        # (account enumeration).
        try:
            services.request_password_reset(
                email=form.cleaned_data["email"], client=client_of(self.request)
            )
        except ServiceError as error:
            return self.refuse(form, error)
        return super().form_valid(form)


class ForgotPasswordDoneView(TemplateView):
    template_name = "accounts/forgot_password_done.html"

    def get_context_data(self, **kwargs):
        expiry_hours = max(1, settings.PASSWORD_RESET_TIMEOUT // 3600)
        return super().get_context_data(expiry_hours=expiry_hours, **kwargs)


@method_decorator(sensitive_post_parameters(), name="dispatch")
@method_decorator(never_cache, name="dispatch")
class ResetPasswordView(ServiceFormMixin, FormView):
    """Set a new password from the emailed link.

    Follows Django's PasswordResetConfirmView, through the services: the token is
    moved into the session and the browser redirected to a URL without it before
    the form is shown (token leakage through Referer, browser history, and
    analytics on the page)."""

    template_name = "accounts/reset_password.html"
    form_class = ResetPasswordForm

    def dispatch(self, request, *args, uidb64, token, **kwargs):
        self.uidb64 = uidb64
        if token != RESET_URL_TOKEN:
            try:
                services.check_reset_link(
                    uid=uidb64, token=token, client=client_of(request)
                )
            except InvalidToken:
                return self.invalid_link()
            except Throttled as error:
                return link_throttled(self, error)
            request.session[RESET_SESSION_KEY] = token
            return redirect("accounts:reset_password", uidb64, RESET_URL_TOKEN)
        self.token = request.session.get(RESET_SESSION_KEY, "")
        try:
            self.account = services.check_reset_link(uid=uidb64, token=self.token)
        except InvalidToken:
            return self.invalid_link()
        return super().dispatch(request, *args, **kwargs)

    def invalid_link(self):
        return self.render_to_response({"validlink": False})

    def get_context_data(self, **kwargs):
        return super().get_context_data(validlink=True, account=self.account, **kwargs)

    def form_valid(self, form):
        try:
            services.reset_password(
                uid=self.uidb64,
                token=self.token,
                new_password=form.cleaned_data["new_password"],
                client=client_of(self.request),
            )
        except InvalidToken:
            return self.invalid_link()
        except ServiceError as error:
            return self.refuse(form, error)
        self.request.session.pop(RESET_SESSION_KEY, None)
        messages.success(
            self.request,
            "Your password has been reset. Sign in with your new password.",
        )
        return redirect("accounts:signin")


class ChangePasswordView(ServiceFormMixin, PasswordChangeView):
    """Django's PasswordChangeView (sign-in required, CSRF, passwords kept out of
    error reports), changing the password through the service."""

    template_name = "accounts/change_password.html"
    form_class = ChangePasswordForm
    success_url = reverse_lazy("accounts:security")

    @method_decorator(never_cache)
    def dispatch(self, *args, **kwargs):
        return super().dispatch(*args, **kwargs)

    def form_valid(self, form):
        user = self.request.user
        try:
            services.change_password(
                user=user,
                old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password"],
                client=client_of(self.request),
                session_id=session_name(self.request),
            )
        except ServiceError as error:
            return self.refuse(form, error)
        # The service revoked every session; this browser gets the new session
        # hash (and a new session key, against session fixation) to stay in.
        update_session_auth_hash(self.request, user)
        messages.success(
            self.request,
            "Your password has been changed. Every other session has been signed out.",
        )
        return redirect(self.get_success_url())


class ProfileView(ServiceFormMixin, SignedInMixin, FormView):
    template_name = "accounts/profile.html"
    form_class = ProfileForm

    def get_initial(self):
        user = self.request.user
        return {name: getattr(user, name) for name in services.PROFILE_FIELDS}

    def form_valid(self, form):
        user = self.request.user
        old_email = user.email
        try:
            services.update_profile(
                user=user, client=client_of(self.request), **form.changes()
            )
        except ServiceError as error:
            return self.refuse(form, error)
        if user.email != old_email:
            messages.success(
                self.request,
                f"Profile saved. We sent a link to {user.email} to verify it.",
            )
        else:
            messages.success(self.request, "Profile saved.")
        return redirect("accounts:profile")


@method_decorator(sensitive_post_parameters("password"), name="dispatch")
class DeleteAccountView(ServiceFormMixin, SignedInMixin, FormView):
    template_name = "accounts/delete_account.html"
    form_class = DeleteAccountForm

    def form_valid(self, form):
        try:
            services.delete_account(
                user=self.request.user,
                password=form.cleaned_data["password"],
                client=client_of(self.request),
                session_id=session_name(self.request),
            )
        except ServiceError as error:
            return self.refuse(form, error)
        logout(self.request)
        messages.success(self.request, "Your account has been deleted.")
        return redirect("home")


@method_decorator(never_cache, name="dispatch")
class VerifyEmailView(TemplateView):
    """Opening the link only shows a button; the POST verifies. Mail scanners
    and link previews fetch links with GET, and would otherwise use up the
    one-time link before its owner clicks it.

    As for reset links, the token leaves the URL before the page shows (token
    leakage through Referer and browser history): a valid token moves into a
    short-lived signed cookie, sent only to this link's own paths, and the
    browser is redirected to the URL without it. A cookie rather than the
    session, so that no anonymous GET writes a session row."""

    template_name = "accounts/verify_email.html"

    def get(self, request, uidb64, token):
        if token != VERIFY_URL_TOKEN:
            if not self.is_valid(uidb64, token):
                return self.render_to_response({"validlink": False})
            response = redirect("accounts:verify_email", uidb64, VERIFY_URL_TOKEN)
            response.set_signed_cookie(
                VERIFY_COOKIE,
                token,
                salt=VERIFY_COOKIE_SALT,
                max_age=VERIFY_COOKIE_MAX_AGE,
                path=self.cookie_path(uidb64),
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                # Lax: the redirect that follows the click in a mail client is
                # a cross-site navigation, which Strict would strip it from.
                samesite="Lax",
            )
            return response
        token = self.cookie_token(request)
        return self.render_to_response({"validlink": self.is_valid(uidb64, token)})

    def post(self, request, uidb64, token):
        if token == VERIFY_URL_TOKEN:
            token = self.cookie_token(request)
        try:
            services.verify_email(uid=uidb64, token=token, client=client_of(request))
        except InvalidToken:
            return self.render_to_response({"validlink": False})
        except Throttled as error:
            return link_throttled(self, error)
        messages.success(request, "Your email address is verified.")
        if request.user.is_authenticated:
            response = redirect("accounts:profile")
        else:
            response = redirect("accounts:signin")
        response.delete_cookie(VERIFY_COOKIE, path=self.cookie_path(uidb64))
        return response

    @staticmethod
    def is_valid(uidb64: str, token: str) -> bool:
        try:
            services.check_verification_link(uid=uidb64, token=token)
        except InvalidToken:
            return False
        return True

    @staticmethod
    def cookie_path(uidb64: str) -> str:
        return reverse("accounts:verify_email", args=[uidb64, VERIFY_URL_TOKEN])[
            : -len(VERIFY_URL_TOKEN) - 1
        ]

    @staticmethod
    def cookie_token(request) -> str:
        return request.get_signed_cookie(
            VERIFY_COOKIE,
            default="",
            salt=VERIFY_COOKIE_SALT,
            max_age=VERIFY_COOKIE_MAX_AGE,
        )


class ResendVerificationView(ServiceFormMixin, FormView):
    template_name = "accounts/resend_verification.html"
    form_class = ResendVerificationForm
    success_url = reverse_lazy("accounts:resend_verification_done")

    def form_valid(self, form):
        # The same confirmation whatever the address (account enumeration).
        try:
            services.resend_verification(
                email=form.cleaned_data["email"], client=client_of(self.request)
            )
        except ServiceError as error:
            return self.refuse(form, error)
        return super().form_valid(form)


class ResendVerificationDoneView(TemplateView):
    template_name = "accounts/resend_verification_done.html"


class SecurityView(SignedInMixin, TemplateView):
    template_name = "accounts/security.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        events = list(selectors.recent_events(user=user))
        sessions = list(services.active_sessions(user=user))
        for event in events:
            event.label = event_label(event)
        for item in [*events, *sessions]:
            item.device = describe_device(item.user_agent)
        return super().get_context_data(events=events, sessions=sessions, **kwargs)


class RevokeSessionView(SignedInMixin, View):
    http_method_names = ["post"]

    def post(self, request, session_id):
        try:
            services.revoke_session(
                user=request.user, session_id=session_id, client=client_of(request)
            )
        except SessionNotFound:
            messages.error(request, "That session had already ended.")
        else:
            messages.success(request, "The session has been signed out.")
        return redirect("accounts:security")


class SignOutEverywhereView(SignedInMixin, View):
    http_method_names = ["post"]

    def post(self, request):
        services.sign_out_all(user=request.user, client=client_of(request))
        logout(request)
        messages.success(
            request, "You have been signed out everywhere, this browser included."
        )
        return redirect("accounts:signin")
