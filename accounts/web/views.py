"""The HTML door: each view parses a form, calls one service, then renders or
redirects. Sessions, messages and redirects live here; account rules do not.
"""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.views import LoginView, LogoutView, PasswordChangeView
from django.core.exceptions import NON_FIELD_ERRORS
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.generic import FormView, TemplateView

from accounts import selectors, services
from accounts.errors import (
    EmailNotVerified,
    EnrolCodeNotNeeded,
    InvalidCode,
    InvalidMfaToken,
    InvalidToken,
    ReauthenticationRequired,
    ServiceError,
    SessionNotFound,
    SessionRevoked,
    Throttled,
)
from accounts.forms import SignInForm
from accounts.http import client_of
from accounts.middleware import MFA_SETUP_PAGE
from accounts.request_assurance import (
    BROWSER_SESSION_KEY,
    PENDING_METHODS_KEY,
    PENDING_SIGN_IN_KEY,
    assurance_of,
    browser_session_name,
    continue_to_second_factor,
    keep_assurance,
    reauthenticate_redirect,
    record_browser_session,
    remember_sign_in,
    safe_next,
)
from accounts.tokens import FACTOR_RESET_ACCEPT
from accounts.web.display import describe_device, event_door, event_label
from accounts.web.error_pages import too_many_requests
from accounts.web.forms import (
    ChangePasswordForm,
    DeleteAccountForm,
    ForgotPasswordForm,
    PasskeyAddForm,
    ProfileForm,
    ReauthenticateForm,
    ResendVerificationForm,
    ResetPasswordForm,
    SignInCodeForm,
    SignInCodeRequestForm,
    SignInMfaForm,
    SignUpForm,
    TotpConfirmForm,
)

# A new account was created, not authenticated: login() must be told which
# backend loads the user on later requests.
SIGN_IN_BACKEND = "accounts.backends.EmailOrUsernameBackend"


class RecentSignInMixin:
    """A page whose only purpose needs a recent sign-in: a browser whose sign-in
    is stale is sent to reauthenticate before it fills in the form."""

    def get(self, request, *args, **kwargs):
        services.require_recent_auth(user=request.user, assurance=assurance_of(request))
        return super().get(request, *args, **kwargs)


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
        if isinstance(error, ReauthenticationRequired):
            return reauthenticate_redirect(self.request)
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
    return browser_session_name(request.session)


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


class LinkTokenMixin:
    """For the pages an emailed link opens (reset password, verify email): the
    token leaves the URL before the page shows, as in Django's
    PasswordResetConfirmView (token leakage through Referer, browser history
    and analytics on the page).

    Opening the link validates its token first (a forged link gets the invalid
    link page at once), then keeps it in a short-lived signed cookie sent only
    to this link's own paths, then redirects to the same URL with
    `placeholder` instead of the token. A cookie rather than the session, so
    that no anonymous GET writes a session row (anyone could fill the session
    table with link openings).
    """

    url_name: str  # the link's URL name; its last argument is the token
    placeholder: str  # what replaces the token in the URL

    def check_link(self, *args: str, token: str) -> None:
        """Raise InvalidToken (or Throttled) unless the link is good; `args`
        are the link's other URL arguments (the uidb64 of reset links)."""
        raise NotImplementedError

    def token_max_age(self) -> int:
        """No longer than the token itself can be accepted."""
        return settings.PASSWORD_RESET_TIMEOUT

    @property
    def cookie_name(self) -> str:
        return f"{self.url_name.split(':')[-1]}_token"

    def stash_link_token(self, token: str, *args: str):
        try:
            self.check_link(*args, token=token)
        except InvalidToken:
            return self.invalid_link()
        except Throttled as error:
            return too_many_requests(self.request, error, link=True)
        response = redirect(self.url_name, *args, self.placeholder)
        response.set_signed_cookie(
            self.cookie_name,
            token,
            salt=self.cookie_name,
            max_age=self.token_max_age(),
            path=self.cookie_path(*args),
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=True,
            # Lax: the redirect that follows the click in a mail client is a
            # cross-site navigation, which Strict would strip it from.
            samesite="Lax",
        )
        return response

    def stashed_token(self) -> str:
        return self.request.get_signed_cookie(
            self.cookie_name,
            default="",
            salt=self.cookie_name,
            max_age=self.token_max_age(),
        )

    def forget_link_token(self, response, *args: str):
        """Once the link is used, its token leaves the browser too."""
        response.delete_cookie(self.cookie_name, path=self.cookie_path(*args))
        return response

    def cookie_path(self, *args: str) -> str:
        path = reverse(self.url_name, args=[*args, self.placeholder])
        return path[: -len(self.placeholder) - 1]

    def invalid_link(self):
        return self.render_to_response({"validlink": False})


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
        keep_assurance(self.request, result.assurance)
        record_browser_session(self.request, result.user)
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
        context["signin_by_code"] = services.signin_by_code_enabled()
        return context

    def get_form(self, form_class=None):
        form = super().get_form(form_class)
        # The browser may offer this site's passkeys in the field's autofill
        # (WebAuthn conditional mediation, static/js/passkeys.js).
        form.fields["username"].widget.attrs["autocomplete"] = "username webauthn"
        return form

    def form_valid(self, form):
        response = super().form_valid(form)
        remember_sign_in(self.request, response, form.get_user())
        return response

    def form_invalid(self, form):
        if form.second_factor is not None:
            return continue_to_second_factor(
                self.request, form.second_factor, self.get_redirect_url()
            )
        return too_many_attempts(form.service_error, super().form_invalid(form))


@method_decorator(sensitive_post_parameters("code"), name="dispatch")
@method_decorator(never_cache, name="dispatch")
class SignInMfaView(ServiceFormMixin, FormView):
    """The second step of a sign-in: the browser's session holds only the
    pending step (its mfa_token) until a right code logs it in."""

    template_name = "accounts/signin_mfa.html"
    form_class = SignInMfaForm

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            return redirect(self.next_url() or "home")
        self.mfa_token = request.session.get(PENDING_SIGN_IN_KEY)
        if not self.mfa_token:
            return self.back_to_sign_in()
        return super().dispatch(request, *args, **kwargs)

    def next_url(self) -> str:
        return safe_next(
            self.request,
            self.request.POST.get("next") or self.request.GET.get("next"),
        )

    def back_to_sign_in(self):
        self.request.session.pop(PENDING_SIGN_IN_KEY, None)
        self.request.session.pop(PENDING_METHODS_KEY, None)
        url = reverse("accounts:signin")
        if self.next_url():
            url += "?" + urlencode({"next": self.next_url()}, safe="/")
        return redirect(url)

    def get_context_data(self, **kwargs):
        methods = self.request.session.get(PENDING_METHODS_KEY) or ()
        return super().get_context_data(
            next=self.next_url(),
            totp="totp" in methods,
            passkey="passkey" in methods,
            **kwargs,
        )

    def form_valid(self, form):
        try:
            result = services.complete_second_factor(
                mfa_token=self.mfa_token,
                code=form.cleaned_data["code"],
                client=client_of(self.request),
            )
        except InvalidMfaToken:
            return self.sign_in_expired()
        except ServiceError as error:
            return self.refuse(form, error)
        return self.signed_in(result)

    def sign_in_expired(self):
        messages.error(
            self.request,
            "That sign-in expired or was stopped after too many wrong codes. "
            "Sign in again.",
        )
        return self.back_to_sign_in()

    def signed_in(self, result):
        """The second factor was right (a code, or a passkey)."""
        self.request.session.pop(PENDING_SIGN_IN_KEY, None)
        self.request.session.pop(PENDING_METHODS_KEY, None)
        # login() gives the session a new key (session fixation) and sends
        # user_logged_in; the session then keeps what the sign-in proved.
        login(self.request, result.user, backend=SIGN_IN_BACKEND)
        self.request.proved = result.assurance
        response = redirect(self.next_url() or "home")
        remember_sign_in(self.request, response, result.user)
        return response


# Where a browser keeps the code_token of its code sign-in: server-side, in the
# still anonymous session, never in a page (it is half of the credential).
PENDING_CODE_KEY = "pending_signin_code"


@method_decorator(sensitive_post_parameters("code"), name="dispatch")
@method_decorator(never_cache, name="dispatch")
class SignInCodeView(View):
    """Sign in with a code emailed to the address: first the address, then the
    code. One page, two forms; which one shows depends on whether the session
    holds a code_token."""

    template_name = "accounts/signin_code.html"

    def dispatch(self, request, *args, **kwargs):
        if not services.signin_by_code_enabled():
            raise Http404()
        if request.user.is_authenticated:
            return redirect(self.next_url() or "home")
        return super().dispatch(request, *args, **kwargs)

    def next_url(self) -> str:
        return safe_next(
            self.request,
            self.request.POST.get("next") or self.request.GET.get("next"),
        )

    def get(self, request):
        if request.session.get(PENDING_CODE_KEY):
            return self.show(code_form=SignInCodeForm())
        return self.show(email_form=SignInCodeRequestForm())

    def post(self, request):
        if "restart" in request.POST:
            request.session.pop(PENDING_CODE_KEY, None)
            return self.show(email_form=SignInCodeRequestForm())
        if "email" in request.POST:
            return self.ask_for_code(SignInCodeRequestForm(request.POST))
        if not request.session.get(PENDING_CODE_KEY):
            return self.show(email_form=SignInCodeRequestForm())
        return self.sign_in(SignInCodeForm(request.POST))

    def ask_for_code(self, form):
        if not form.is_valid():
            return self.show(email_form=form)
        try:
            code_token = services.request_signin_code(
                email=form.cleaned_data["email"], client=client_of(self.request)
            )
        except Throttled as error:
            return too_many_requests(self.request, error)
        self.request.session[PENDING_CODE_KEY] = code_token
        # The same words whether or not the address has an account.
        messages.info(
            self.request,
            "If an account uses this address, a code is on its way to it.",
        )
        return self.show(code_form=SignInCodeForm())

    def sign_in(self, form):
        if not form.is_valid():
            return self.show(code_form=form)
        try:
            result = services.sign_in_with_code(
                code_token=self.request.session[PENDING_CODE_KEY],
                code=form.cleaned_data["code"],
                client=client_of(self.request),
            )
        except Throttled as error:
            return too_many_requests(self.request, error)
        except ServiceError as error:
            form.add_service_error(error)
            return self.show(code_form=form)
        self.request.session.pop(PENDING_CODE_KEY, None)
        if isinstance(result, services.SecondFactorNeeded):
            return continue_to_second_factor(self.request, result, self.next_url())
        # login() gives the session a new key (session fixation) and sends
        # user_logged_in; the session then keeps what the sign-in proved.
        login(self.request, result.user, backend=SIGN_IN_BACKEND)
        self.request.proved = result.assurance
        response = redirect(self.next_url() or "home")
        remember_sign_in(self.request, response, result.user)
        return response

    def show(self, *, email_form=None, code_form=None):
        return render(
            self.request,
            self.template_name,
            {"email_form": email_form, "code_form": code_form, "next": self.next_url()},
        )


@method_decorator(sensitive_post_parameters("password", "code"), name="dispatch")
class ReauthenticateView(ServiceFormMixin, SignedInMixin, FormView):
    """Confirm it's you (password, or a code for an account with a second
    factor), then back to `next`: the browser session's proof is renewed."""

    template_name = "accounts/reauthenticate.html"
    form_class = ReauthenticateForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def next_url(self) -> str:
        return safe_next(
            self.request,
            self.request.POST.get("next") or self.request.GET.get("next"),
        )

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            next=self.next_url(),
            methods=services.mfa_methods(self.request.user),
            **kwargs,
        )

    def form_valid(self, form):
        session_name(self.request)  # the per-session counter needs a key
        try:
            result = services.reauthenticate(
                user=self.request.user,
                assurance=assurance_of(self.request),
                password=form.cleaned_data.get("password"),
                code=form.cleaned_data.get("code"),
                client=client_of(self.request),
            )
        except ServiceError as error:
            return self.refuse(form, error)
        keep_assurance(self.request, result.assurance)
        return redirect(self.next_url() or "accounts:security")


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
class ResetPasswordView(LinkTokenMixin, ServiceFormMixin, FormView):
    """Set a new password from the emailed link, through the services."""

    template_name = "accounts/reset_password.html"
    form_class = ResetPasswordForm
    url_name = "accounts:reset_password"
    placeholder = "set-password"

    def check_link(self, uidb64, *, token):
        # Counted against the link limit: each opening is a guess at a token.
        services.check_reset_link(
            uid=uidb64, token=token, client=client_of(self.request)
        )

    def dispatch(self, request, *args, uidb64, token, **kwargs):
        self.uidb64 = uidb64
        if token != self.placeholder:
            return self.stash_link_token(token, uidb64)
        self.token = self.stashed_token()
        try:
            self.account = services.check_reset_link(uid=uidb64, token=self.token)
        except InvalidToken:
            return self.invalid_link()
        return super().dispatch(request, *args, **kwargs)

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
        messages.success(
            self.request,
            "Your password has been reset. Sign in with your new password.",
        )
        return self.forget_link_token(redirect("accounts:signin"), self.uidb64)


class ChangePasswordView(RecentSignInMixin, ServiceFormMixin, PasswordChangeView):
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
                assurance=assurance_of(self.request),
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

    def get_context_data(self, **kwargs):
        pending = self.request.user.live_pending_email
        return super().get_context_data(pending_email=pending, **kwargs)

    def form_valid(self, form):
        user = self.request.user
        requested_at = user.pending_email_requested_at
        try:
            services.update_profile(
                user=user,
                client=client_of(self.request),
                assurance=assurance_of(self.request),
                **form.changes(),
            )
        except ServiceError as error:
            return self.refuse(form, error)
        if user.pending_email_requested_at != requested_at:
            messages.success(
                self.request,
                f"Profile saved. We sent a link to {user.pending_email}: your "
                "address changes when you open it.",
            )
        else:
            messages.success(self.request, "Profile saved.")
        return redirect("accounts:profile")


class WithdrawEmailChangeView(SignedInMixin, View):
    http_method_names = ["post"]

    def post(self, request):
        services.withdraw_email_change(user=request.user, client=client_of(request))
        messages.success(request, "The email change was withdrawn.")
        return redirect("accounts:profile")


@method_decorator(never_cache, name="dispatch")
class EmailChangeLinkView(LinkTokenMixin, TemplateView):
    """The pages the email-change links open: opening shows a button, the POST
    acts (mail scanners follow links with GET); the token leaves the URL first
    (LinkTokenMixin)."""

    purpose: str  # "confirm" or "cancel"
    placeholder = "open"  # never a token: tokens contain a dot

    def token_max_age(self) -> int:
        return settings.EMAIL_CHANGE_TIMEOUT

    def check_link(self, *, token):
        services.check_email_change_link(token=token, purpose=self.purpose)

    def get(self, request, token):
        if token != self.placeholder:
            return self.stash_link_token(token)
        try:
            self.check_link(token=self.stashed_token())
        except InvalidToken:
            return self.invalid_link()
        return self.render_to_response({"validlink": True})

    def post(self, request, token):
        if token == self.placeholder:
            token = self.stashed_token()
        try:
            response = self.act(token)
        except InvalidToken:
            return self.invalid_link()
        except Throttled as error:
            return too_many_requests(request, error, link=True)
        except ServiceError as error:
            return self.render_to_response({"validlink": True, "error": error.message})
        return self.forget_link_token(response)

    def act(self, token: str):
        raise NotImplementedError


class ConfirmEmailChangeView(EmailChangeLinkView):
    template_name = "accounts/confirm_email_change.html"
    purpose = "confirm"
    url_name = "accounts:confirm_email_change"

    def act(self, token):
        # Read before the switch: afterwards this browser's session no longer
        # matches the account (every session was signed out).
        signed_in_as = self.request.user.pk
        user = services.confirm_email_change(
            token=token, client=client_of(self.request)
        )
        # The browser that confirmed while signed in as the owner proved both
        # the session and the new mailbox: it stays signed in.
        if signed_in_as == user.pk:
            update_session_auth_hash(self.request, user)
            messages.success(self.request, f"Your email address is now {user.email}.")
            return redirect("accounts:profile")
        messages.success(
            self.request,
            f"Your email address is now {user.email}. Sign in again to continue.",
        )
        return redirect("accounts:signin")


class CancelEmailChangeView(EmailChangeLinkView):
    template_name = "accounts/cancel_email_change.html"
    purpose = "cancel"
    url_name = "accounts:cancel_email_change"

    def act(self, token):
        services.cancel_email_change(token=token, client=client_of(self.request))
        messages.success(
            self.request,
            "The email change was cancelled. If you did not ask for it, change "
            "your password.",
        )
        return redirect("home")


@method_decorator(sensitive_post_parameters("password"), name="dispatch")
class DeleteAccountView(SignedInMixin, RecentSignInMixin, ServiceFormMixin, FormView):
    template_name = "accounts/delete_account.html"
    form_class = DeleteAccountForm

    def form_valid(self, form):
        try:
            services.delete_account(
                user=self.request.user,
                password=form.cleaned_data["password"],
                client=client_of(self.request),
                session_id=session_name(self.request),
                assurance=assurance_of(self.request),
            )
        except ServiceError as error:
            return self.refuse(form, error)
        logout(self.request)
        messages.success(self.request, "Your account has been deleted.")
        return redirect("home")


@method_decorator(never_cache, name="dispatch")
class VerifyEmailView(LinkTokenMixin, TemplateView):
    """Opening the link only shows a button; the POST verifies. Mail scanners
    and link previews fetch links with GET, and would otherwise use up the
    one-time link before its owner clicks it."""

    template_name = "accounts/verify_email.html"
    url_name = "accounts:verify_email"
    placeholder = "confirm"

    def check_link(self, uidb64, *, token):
        # Not counted: opening only shows the button; the POST that uses the
        # token is what counts against the link limit.
        services.check_verification_link(uid=uidb64, token=token)

    def get(self, request, uidb64, token):
        if token != self.placeholder:
            return self.stash_link_token(token, uidb64)
        try:
            self.check_link(uidb64, token=self.stashed_token())
        except InvalidToken:
            return self.invalid_link()
        return self.render_to_response({"validlink": True})

    def post(self, request, uidb64, token):
        if token == self.placeholder:
            token = self.stashed_token()
        signed_in_as = request.user.pk
        try:
            user = services.verify_email(
                uid=uidb64, token=token, client=client_of(request)
            )
        except InvalidToken:
            return self.invalid_link()
        except Throttled as error:
            return too_many_requests(request, error, link=True)
        messages.success(request, "Your email address is verified.")
        if signed_in_as == user.pk:
            # The first proof of the mailbox signed every session out; this
            # browser, signed in as the owner, proved it and stays signed in.
            update_session_auth_hash(request, user)
            response = redirect("accounts:profile")
        else:
            response = redirect("accounts:signin")
        return self.forget_link_token(response, uidb64)


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
        browser_sessions = list(services.active_browser_sessions(user=user))
        this_browser = self.request.session.get(BROWSER_SESSION_KEY)
        for event in events:
            event.label = event_label(event)
            event.actor = services.event_actor(event)
            event.door = event_door(event)
        for item in [*events, *sessions, *browser_sessions]:
            item.device = describe_device(item.user_agent)
        for browser in browser_sessions:
            browser.current = str(browser.pk) == this_browser
        return super().get_context_data(
            events=events,
            sessions=sessions,
            browser_sessions=browser_sessions,
            mfa=services.mfa_status(user=user),
            **kwargs,
        )


class ExportDataView(SignedInMixin, View):
    """ "Download my data": a POST (CSRF-checked, so another site cannot make a
    browser spend its exports and send notices); a GET, where reauthenticating
    returns to, leads back to the page with the button."""

    http_method_names = ["get", "post"]

    def get(self, request):
        return redirect("accounts:security")

    def post(self, request):
        try:
            document = services.export_account_data(
                user=request.user,
                assurance=assurance_of(request),
                client=client_of(request),
            )
        except Throttled as error:
            return too_many_requests(request, error)
        filename = services.export_filename(document)
        response = JsonResponse(document, json_dumps_params={"indent": 2})
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response["Cache-Control"] = "no-store"
        return response


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


class RevokeBrowserSessionView(SignedInMixin, View):
    http_method_names = ["post"]

    def post(self, request, browser_session_id):
        try:
            services.revoke_browser_session(
                user=request.user,
                browser_session_id=browser_session_id,
                client=client_of(request),
            )
        except SessionNotFound:
            # Another user's browser, or one already ended: nothing to show.
            raise Http404 from None
        if str(browser_session_id) == request.session.get(BROWSER_SESSION_KEY):
            logout(request)
            messages.info(request, "This browser has been signed out.")
            return redirect("accounts:signin")
        messages.success(request, "That browser has been signed out.")
        return redirect("accounts:security")


class SignOutEverywhereElseView(SignedInMixin, View):
    """Ends every other browser and every app, keeping this browser signed in."""

    http_method_names = ["post"]

    def post(self, request):
        services.sign_out_everywhere_else(
            user=request.user,
            keep_browser_session_id=request.session.get(BROWSER_SESSION_KEY),
            client=client_of(request),
        )
        # Every browser's session hash changed; this one takes the new hash.
        update_session_auth_hash(request, request.user)
        messages.success(request, "Every other browser and app has been signed out.")
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


class SendEnrolCodeView(SignedInMixin, View):
    """The button on the two-factor page of a confined session: emails the code
    that enrolling its first factor needs (services.send_enrol_code)."""

    http_method_names = ["post"]

    def post(self, request):
        session_name(request)  # the code is bound to this browser session
        try:
            services.send_enrol_code(
                user=request.user,
                assurance=assurance_of(request),
                client=client_of(request),
            )
        except EnrolCodeNotNeeded as error:
            messages.info(request, error.message)
        else:
            messages.success(
                request,
                "We emailed you a code. Enter it with your first authenticator "
                "code; it works for 10 minutes.",
            )
        return redirect(MFA_SETUP_PAGE)


@method_decorator(never_cache, name="dispatch")
class FactorResetView(TemplateView):
    """The link of a staff-started factor reset: accept it (from the first
    email) or cancel it (from the notice). Opening the link only shows a
    button; the POST acts, so mail scanners that fetch links change nothing.
    Needs no sign-in: the link is the proof of the mailbox."""

    template_name = "accounts/factor_reset.html"

    def get(self, request, token):
        try:
            action = services.check_factor_reset_link(token=token)
        except InvalidToken:
            return self.render_to_response({"state": "invalid"})
        return self.render_to_response({"state": action})

    def post(self, request, token):
        try:
            action = services.check_factor_reset_link(token=token)
            if action == FACTOR_RESET_ACCEPT:
                reset = services.accept_factor_reset(
                    token=token, client=client_of(request)
                )
                return self.render_to_response({"state": "accepted", "reset": reset})
            services.cancel_factor_reset_by_link(token=token, client=client_of(request))
        except InvalidToken:
            return self.render_to_response({"state": "invalid"})
        return self.render_to_response({"state": "cancelled"})


class MfaPageMixin(SignedInMixin):
    """The two-factor settings page and the actions posted from it."""

    template_name = "accounts/mfa.html"
    codes_template_name = "accounts/mfa_recovery_codes.html"

    def mfa_page(self, form=None, status=200, passkey_form=None):
        user = self.request.user
        setup = services.pending_totp_setup(
            user=user, assurance=assurance_of(self.request)
        )
        context = {
            "status": services.mfa_status(user=user),
            "setup": setup,
            # Groups of four, as apps show keys for typing by hand.
            "secret_groups": setup
            and " ".join(
                setup.secret[i : i + 4] for i in range(0, len(setup.secret), 4)
            ),
            "form": form or TotpConfirmForm(confined=self.confined()),
            "passkey_form": passkey_form or PasskeyAddForm(confined=self.confined()),
            "confined": self.confined(),
        }
        return render(self.request, self.template_name, context, status=status)

    def confined(self) -> bool:
        """A confined session enrols its first factor with an emailed code too."""
        return services.is_confined(
            user=self.request.user, assurance=assurance_of(self.request)
        )

    def show_codes(self, recovery_codes: list[str]):
        # Rendered in the answer to the POST, never stored for a later page:
        # the codes exist in clear only in this one response.
        return render(
            self.request, self.codes_template_name, {"recovery_codes": recovery_codes}
        )

    def refused(self, error: ServiceError):
        if isinstance(error, ReauthenticationRequired):
            return reauthenticate_redirect(self.request, reverse("accounts:mfa"))
        messages.error(self.request, error.message)
        return redirect("accounts:mfa")


class MfaView(MfaPageMixin, View):
    http_method_names = ["get"]

    def get(self, request):
        return self.mfa_page()


class TotpSetupView(MfaPageMixin, View):
    http_method_names = ["post"]

    def post(self, request):
        try:
            services.start_totp_setup(
                user=request.user,
                assurance=assurance_of(request),
                client=client_of(request),
            )
        except ServiceError as error:
            return self.refused(error)
        return redirect("accounts:mfa")


class TotpConfirmView(MfaPageMixin, View):
    http_method_names = ["post"]

    def post(self, request):
        form = TotpConfirmForm(request.POST, confined=self.confined())
        if not form.is_valid():
            form.forget_code()
            return self.mfa_page(form)
        try:
            confirmed = services.confirm_totp(
                user=request.user,
                code=form.cleaned_data["code"],
                email_code=form.cleaned_data["email_code"] or None,
                assurance=assurance_of(request),
                client=client_of(request),
                # This browser stays signed in: its row stays listed as live.
                keep_browser_session_id=request.session.get(BROWSER_SESSION_KEY),
            )
        except InvalidCode as error:
            form.add_service_error(error)
            form.forget_code()
            return self.mfa_page(form)
        except ServiceError as error:
            return self.refused(error)
        if confirmed.first_factor:
            # The service ended every other browser sign-in by changing the
            # session hash; this browser takes the new hash (and a new session
            # key: its privileges just rose) and records its level 2.
            update_session_auth_hash(request, request.user)
            keep_assurance(request, confirmed.assurance)
        messages.success(request, "The authenticator app is on.")
        if confirmed.recovery_codes:
            return self.show_codes(confirmed.recovery_codes)
        return redirect("accounts:mfa")


class TotpDisableView(MfaPageMixin, View):
    http_method_names = ["post"]

    def post(self, request):
        try:
            services.disable_totp(
                user=request.user,
                assurance=assurance_of(request),
                client=client_of(request),
            )
        except ServiceError as error:
            return self.refused(error)
        messages.success(request, "The authenticator app is off.")
        return redirect("accounts:mfa")


class RecoveryCodesView(MfaPageMixin, View):
    http_method_names = ["post"]

    def post(self, request):
        try:
            recovery_codes = services.regenerate_recovery_codes(
                user=request.user,
                assurance=assurance_of(request),
                client=client_of(request),
            )
        except ServiceError as error:
            return self.refused(error)
        return self.show_codes(recovery_codes)
