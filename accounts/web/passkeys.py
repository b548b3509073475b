"""The passkey parts of the pages: sign in with a passkey, use one as the
second factor or to confirm it's you, and add, rename or remove passkeys on
the two-factor page.

A ceremony takes two requests. static/js/passkeys.js first POSTs (fetch, CSRF
header) to an options view of this module, which answers JSON: the WebAuthn
options and their challenge_token, bound by the services to this browser
session. After navigator.credentials.create() or .get() the script fills the
page's form with the challenge_token and the credential JSON and submits it
as an ordinary form, so the answer is a page like any other form's: a
redirect with a message, the form again with its errors, or the recovery
codes of a first factor, which exist in clear only in that one response.
Rename and remove are plain forms and work without JavaScript.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.http import Http404, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache

from accounts import services
from accounts.errors import (
    Conflict,
    EnrolCodeInvalid,
    EnrolCodeMissing,
    InvalidCredential,
    InvalidMfaToken,
    PasskeyNotFound,
    PasskeyRejected,
    ReauthenticationRequired,
    ServiceError,
    SessionRevoked,
    Throttled,
)
from accounts.http import client_of
from accounts.request_assurance import (
    BROWSER_SESSION_KEY,
    PENDING_METHODS_KEY,
    PENDING_SIGN_IN_KEY,
    REAUTHENTICATE_PATH,
    assurance_of,
    keep_assurance,
    remember_sign_in,
    safe_next,
)
from accounts.web.error_pages import too_many_requests
from accounts.web.forms import PasskeyAddForm, PasskeyAnswerForm, PasskeyRenameForm
from accounts.web.views import (
    PENDING_CODE_KEY,
    SIGN_IN_BACKEND,
    MfaPageMixin,
    ReauthenticateView,
    SignedInMixin,
    SignInMfaView,
    session_name,
)

NOT_ACCEPTED = (
    "That passkey was not accepted. Try again, or use another way to sign in."
)
NOT_VERIFIED = "That passkey could not be verified. Try again."
EXPIRED = "That passkey request expired. Try again."


def passkey_message(error: ServiceError) -> str:
    """What the pages say when a passkey answer is refused; never which check
    failed (an unknown credential reads like a bad signature)."""
    if isinstance(error, PasskeyRejected):
        return NOT_ACCEPTED
    if isinstance(error, InvalidCredential):
        return NOT_VERIFIED
    return error.message


def with_next(path: str, next_url: str) -> str:
    if not next_url:
        return path
    return f"{path}?{urlencode({'next': next_url}, safe='/')}"


# -- options (JSON for passkeys.js) --------------------------------------------
def json_refusal(error: ServiceError, status: int, *, redirect_to: str = ""):
    body = {"detail": error.message, "code": error.code}
    if redirect_to:
        # Where the script sends the browser (reauthenticate, sign in again).
        body["redirect"] = redirect_to
    response = JsonResponse(body, status=status)
    if isinstance(error, Throttled):
        response["Retry-After"] = str(error.retry_after)
    return response


@method_decorator(never_cache, name="dispatch")
class PasskeyOptionsView(View):
    """Options for one ceremony: {"options", "challenge_token"}. POST only, so
    CSRF protects it (a challenge is a row and counts against a limit)."""

    http_method_names = ["post"]
    needs_sign_in = True

    def post(self, request):
        if self.needs_sign_in and not request.user.is_authenticated:
            return JsonResponse(
                {"detail": "Sign in first.", "code": "not_authenticated"},
                status=401,
            )
        try:
            result = self.options(request)
        except ReauthenticationRequired as error:
            return json_refusal(error, 403, redirect_to=self.reauthenticate_url())
        except InvalidMfaToken as error:
            return json_refusal(error, 401, redirect_to=reverse("accounts:signin"))
        except Throttled as error:
            return json_refusal(error, 429)
        except ServiceError as error:
            return json_refusal(error, 409 if isinstance(error, Conflict) else 400)
        response = JsonResponse(
            {"options": result.options, "challenge_token": result.challenge_token}
        )
        response["Cache-Control"] = "no-store"
        return response

    def options(self, request) -> services.WebAuthnOptions:
        raise NotImplementedError

    def reauthenticate_url(self) -> str:
        return REAUTHENTICATE_PATH


class RegisterOptionsView(PasskeyOptionsView):
    def options(self, request):
        return services.webauthn_options(
            purpose="register",
            user=request.user,
            assurance=assurance_of(request),
            client=client_of(request),
        )

    def reauthenticate_url(self):
        return with_next(REAUTHENTICATE_PATH, reverse("accounts:mfa"))


class ReauthenticateOptionsView(PasskeyOptionsView):
    def options(self, request):
        session_name(request)
        return services.webauthn_options(
            purpose="reauth",
            user=request.user,
            assurance=assurance_of(request),
            client=client_of(request),
        )


class SignInOptionsView(PasskeyOptionsView):
    needs_sign_in = False

    def options(self, request):
        # Bound to this browser's session: a challenge fetched in one browser
        # cannot finish a sign-in in another.
        return services.webauthn_options(
            purpose="signin",
            session_id=session_name(request),
            client=client_of(request),
        )


class SecondFactorOptionsView(PasskeyOptionsView):
    needs_sign_in = False

    def options(self, request):
        mfa_token = request.session.get(PENDING_SIGN_IN_KEY)
        if not mfa_token:
            raise InvalidMfaToken()
        return services.webauthn_options(
            purpose="mfa", mfa_token=mfa_token, client=client_of(request)
        )


# -- ceremonies' answers (form posts) --------------------------------------------
@method_decorator(never_cache, name="dispatch")
class PasskeySignInView(View):
    """Passwordless sign-in: a passkey proves two factors at once, so the
    browser is signed in at level 2 with nothing more to ask."""

    http_method_names = ["get", "post"]

    def next_url(self) -> str:
        return safe_next(
            self.request, self.request.POST.get("next") or self.request.GET.get("next")
        )

    def back(self):
        return redirect(with_next(reverse("accounts:signin"), self.next_url()))

    def get(self, request):
        return self.back()

    def post(self, request):
        if request.user.is_authenticated:
            return redirect(self.next_url() or "home")
        form = PasskeyAnswerForm(request.POST)
        if not form.is_valid():
            messages.error(request, NOT_ACCEPTED)
            return self.back()
        try:
            result = services.sign_in_with_passkey(
                challenge_token=form.cleaned_data["challenge_token"],
                credential=form.cleaned_data["credential"],
                session_id=session_name(request),
                client=client_of(request),
            )
        except Throttled as error:
            return too_many_requests(request, error)
        except ServiceError as error:
            messages.error(request, passkey_message(error))
            return self.back()
        # A half-finished password or code sign-in of this browser is moot.
        for key in (PENDING_SIGN_IN_KEY, PENDING_METHODS_KEY, PENDING_CODE_KEY):
            request.session.pop(key, None)
        login(request, result.user, backend=SIGN_IN_BACKEND)
        request.proved = result.assurance
        response = redirect(self.next_url() or "home")
        remember_sign_in(request, response, result.user)
        return response


class SecondFactorPasskeyView(SignInMfaView):
    """The second step of a sign-in answered with a passkey instead of a
    code; the same pending sign-in, counters and outcome as a code."""

    http_method_names = ["get", "post"]

    def back_to_page(self):
        return redirect(with_next(reverse("accounts:signin_mfa"), self.next_url()))

    def get(self, request, *args, **kwargs):
        return self.back_to_page()

    def post(self, request, *args, **kwargs):
        form = PasskeyAnswerForm(request.POST)
        if not form.is_valid():
            messages.error(request, NOT_VERIFIED)
            return self.back_to_page()
        try:
            result = services.complete_second_factor(
                mfa_token=self.mfa_token,
                challenge_token=form.cleaned_data["challenge_token"],
                credential=form.cleaned_data["credential"],
                client=client_of(request),
            )
        except InvalidMfaToken:
            return self.sign_in_expired()
        except Throttled as error:
            return too_many_requests(request, error)
        except ServiceError as error:
            messages.error(request, passkey_message(error))
            return self.back_to_page()
        return self.signed_in(result)


class ReauthenticatePasskeyView(ReauthenticateView):
    """Confirm it's you with a passkey, then back to `next`."""

    http_method_names = ["get", "post"]

    def back_to_page(self):
        return redirect(with_next(REAUTHENTICATE_PATH, self.next_url()))

    def get(self, request, *args, **kwargs):
        return self.back_to_page()

    def post(self, request, *args, **kwargs):
        form = PasskeyAnswerForm(request.POST)
        if not form.is_valid():
            messages.error(request, NOT_VERIFIED)
            return self.back_to_page()
        session_name(request)
        try:
            result = services.reauthenticate(
                user=request.user,
                assurance=assurance_of(request),
                challenge_token=form.cleaned_data["challenge_token"],
                credential=form.cleaned_data["credential"],
                client=client_of(request),
            )
        except Throttled as error:
            return too_many_requests(request, error)
        except ServiceError as error:
            if getattr(error, "session_ended", False) or isinstance(
                error, SessionRevoked
            ):
                return signed_out_after_failures(request)
            messages.error(request, passkey_message(error))
            return self.back_to_page()
        keep_assurance(request, result.assurance)
        return redirect(self.next_url() or "accounts:security")


def signed_out_after_failures(request):
    """Too many wrong answers in this session (the services revoked it): as
    with wrong passwords, the browser is signed out."""
    logout(request)
    messages.error(
        request,
        "You have been signed out after too many failed attempts. "
        "Sign in again to continue.",
    )
    return redirect("accounts:signin")


# -- the two-factor page -------------------------------------------------------
class AddPasskeyView(MfaPageMixin, View):
    http_method_names = ["post"]

    def post(self, request):
        form = PasskeyAddForm(request.POST, confined=self.confined())
        if not form.is_valid():
            form.forget_email_code()
            return self.mfa_page(passkey_form=form)
        try:
            registered = services.register_passkey(
                user=request.user,
                assurance=assurance_of(request),
                challenge_token=form.cleaned_data["challenge_token"],
                credential=form.cleaned_data["credential"],
                name=form.cleaned_data["name"],
                email_code=form.cleaned_data["email_code"] or None,
                client=client_of(request),
                keep_browser_session_id=request.session.get(BROWSER_SESSION_KEY),
            )
        except (EnrolCodeMissing, EnrolCodeInvalid) as error:
            form.add_service_error(error)
            form.forget_email_code()
            return self.mfa_page(passkey_form=form)
        except InvalidCredential as error:
            form.add_error(None, error.message)
            form.forget_answer()
            return self.mfa_page(passkey_form=form)
        except ServiceError as error:
            return self.refused(error)
        if registered.first_factor:
            # As for a first authenticator app: every other browser was signed
            # out; this one takes the new session hash and its level 2.
            update_session_auth_hash(request, request.user)
            keep_assurance(request, registered.assurance)
        messages.success(request, f"Passkey “{registered.passkey.name}” added.")
        if registered.recovery_codes:
            return self.show_codes(registered.recovery_codes)
        return redirect("accounts:mfa")


class RenamePasskeyView(SignedInMixin, View):
    """No recent sign-in needed: a name guards nothing."""

    http_method_names = ["post"]

    def post(self, request, passkey_id):
        form = PasskeyRenameForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Give the passkey a name.")
            return redirect("accounts:mfa")
        try:
            passkey = services.rename_passkey(
                user=request.user,
                passkey_id=passkey_id,
                name=form.cleaned_data["name"],
                client=client_of(request),
            )
        except PasskeyNotFound:
            raise Http404 from None
        except ServiceError as error:
            messages.error(request, error.message)
            return redirect("accounts:mfa")
        messages.success(request, f"Passkey renamed “{passkey.name}”.")
        return redirect("accounts:mfa")


class RemovePasskeyView(MfaPageMixin, View):
    http_method_names = ["post"]

    def post(self, request, passkey_id):
        try:
            services.remove_passkey(
                user=request.user,
                passkey_id=passkey_id,
                assurance=assurance_of(request),
                client=client_of(request),
            )
        except PasskeyNotFound:
            raise Http404 from None
        except ServiceError as error:
            return self.refused(error)
        messages.success(request, "The passkey has been removed.")
        return redirect("accounts:mfa")
