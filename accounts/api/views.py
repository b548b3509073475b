"""The JSON door: each view parses input, calls one service, renders the result.

Service errors propagate to accounts.api.exception_handler, which maps them to
statuses.
"""

import uuid

from django.contrib.auth.signals import user_logged_in
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    inline_serializer,
)
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors, services, signing_keys, tokens
from accounts.api import (
    schema,  # noqa: F401  (registers the bearer scheme)
    transport,
)
from accounts.api import serializers as s
from accounts.api.direct import DirectGet, DirectRefresh
from accounts.api.pagination import StaffCursorPagination
from accounts.api.permissions import (
    CONFINED_MAY_READ,
    CONFINED_MAY_USE_ALL_METHODS,
    NotConfined,
)
from accounts.api.representation import represent
from accounts.errors import NotFound
from accounts.http import client_of, device_of, remember_device
from accounts.observability import health
from accounts.request_assurance import assurance_of

ERRORS_400 = OpenApiResponse(
    description='Field errors by field name, or {"detail": ...} for the request.'
)
ERROR_401 = OpenApiResponse(
    s.DetailSerializer, description="Missing, invalid or revoked token."
)
ERROR_403 = OpenApiResponse(s.DetailSerializer, description="Not allowed for you.")
ERROR_404 = OpenApiResponse(s.DetailSerializer, description="No such account.")
ERROR_403_TRANSPORT = OpenApiResponse(
    s.DetailSerializer,
    description="X-Token-Transport: cookie from an Origin that is not allowed.",
)


def _data(serializer_class, request, **kwargs):
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _query(serializer_class, request):
    # A plain dict: DRF reads a missing boolean in a QueryDict as False.
    serializer = serializer_class(data=request.query_params.dict())
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def token_response(pair, user=None, status_code=status.HTTP_200_OK) -> Response:
    """Every answer that issues a token pair. A cookie session's refresh token
    goes into its cookie and never into the body, whatever the request."""
    body = {"access_token": pair.access_token}
    if pair.transport != transport.COOKIE:
        body["refresh_token"] = pair.refresh_token
    body.update(token_type=pair.token_type, expires_in=pair.expires_in)
    if user is not None:
        body["user"] = represent(s.UserSerializer, user)
    # Tokens must never sit in a browser or proxy cache.
    response = Response(
        body,
        status=status_code,
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )
    if pair.transport == transport.COOKIE:
        transport.set_refresh_cookie(response, pair)
    return response


TRANSPORT_HEADER = OpenApiParameter(
    transport.HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    enum=["cookie", "body"],
    description="`cookie` (SPAs on the service's own site): the session's "
    "refresh token travels only in an HttpOnly cookie "
    "(`__Host-identity_refresh`; `identity_refresh` on plain http), never in a "
    "body. Needs an Origin naming SITE_URL, FRONTEND_URL or a listed CORS "
    "origin (403 otherwise).",
)


class PublicApi(APIView):
    """An endpoint for anonymous callers: a stale Authorization header is ignored."""

    authentication_classes = []
    permission_classes = [AllowAny]


class SignUpApi(PublicApi):
    @extend_schema(
        parameters=[TRANSPORT_HEADER],
        request=s.SignUpSerializer,
        responses={
            201: OpenApiResponse(
                # Two shapes, told apart by their required fields (no
                # discriminator field exists in either).
                PolymorphicProxySerializer(
                    component_name="SignUpResponse",
                    serializers=[s.TokenResponseSerializer, s.SignUpPendingSerializer],
                    resource_type_field_name=None,
                ),
                description="Tokens and the user; with EMAIL_VERIFICATION="
                "mandatory, no tokens: a detail and the user.",
            ),
            400: ERRORS_400,
            403: ERROR_403_TRANSPORT,
        },
    )
    def post(self, request):
        """Takes email, username and password; creates the account, returns tokens."""
        result = services.sign_up(
            **_data(s.SignUpSerializer, request),
            client=client_of(request),
            issue_tokens=True,
            transport=sign_in_transport(request),
        )
        if result.tokens is None:
            pending = {
                "detail": "Account created. Check your email to verify it.",
                "user": result.user,
            }
            return Response(
                s.SignUpPendingSerializer(pending).data,
                status=status.HTTP_201_CREATED,
            )
        return token_response(result.tokens, result.user, status.HTTP_201_CREATED)


NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def sign_in_transport(request) -> str:
    """The transport a sign-in asks for (pass it to the service that starts
    the session). A two-step sign-in takes it from the step that issues the
    tokens."""
    return transport.requested(request)


def signed_in_response(request, user, pair) -> Response:
    """The end of a sign-in through the API: tokens (the refresh token in its
    cookie for a cookie session), Django's user_logged_in (it carries the
    request), and the device cookie."""
    user_logged_in.send(sender=type(user), request=request, user=user)
    response = token_response(pair, user)
    remember_device(response, user)
    return response


class SignInApi(PublicApi):
    # Like an OAuth2 password form; multipart because browsers' FormData sends it.
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    @extend_schema(
        parameters=[TRANSPORT_HEADER],
        request=s.SignInSerializer,
        responses={
            200: s.TokenResponseSerializer,
            202: OpenApiResponse(
                s.MfaRequiredSerializer,
                description="The account has a second factor: no tokens yet; "
                "POST the mfa_token with a code to /auth/signin/mfa.",
            ),
            400: ERRORS_400,
            401: OpenApiResponse(
                s.DetailSerializer, description="Invalid email or password"
            ),
            403: OpenApiResponse(
                s.DetailSerializer,
                description="Inactive or unverified account; or the cookie "
                "transport from an Origin that is not allowed.",
            ),
        },
    )
    def post(self, request):
        """Takes an email or username and a password; returns tokens, or 202
        with an mfa_token when the account has a second factor."""
        data = _data(s.SignInSerializer, request)
        result = services.sign_in(
            **data,
            client=client_of(request),
            issue_tokens=True,
            device=device_of(request),
            transport=sign_in_transport(request),
        )
        if isinstance(result, services.SecondFactorNeeded):
            body = {
                "mfa_required": True,
                "mfa_token": result.mfa_token,
                "methods": result.methods,
                "expires_in": result.expires_in,
            }
            # The mfa_token is a credential: never in a browser or proxy cache.
            return Response(body, status=status.HTTP_202_ACCEPTED, headers=NO_STORE)
        return signed_in_response(request, result.user, result.tokens)


class SignInMfaApi(PublicApi):
    @extend_schema(
        parameters=[TRANSPORT_HEADER],
        request=s.SignInMfaSerializer,
        responses={
            200: s.TokenResponseSerializer,
            400: OpenApiResponse(
                description='{"code": ["Invalid code"]} or {"credential": [...]} '
                "(a passkey that does not verify), or other field errors."
            ),
            401: OpenApiResponse(
                s.DetailSerializer,
                description="Unknown, expired, used or killed mfa_token; a used, "
                "replaced or foreign passkey challenge; an assertion from a "
                "wrong origin or rp id, or without user presence/verification.",
            ),
            403: ERROR_403_TRANSPORT,
            429: OpenApiResponse(s.DetailSerializer),
        },
    )
    def post(self, request):
        """Takes the mfa_token of a 202 sign-in and a code (six digits: the
        authenticator app's; otherwise a recovery code), or a passkey:
        challenge_token (options for purpose mfa) and credential; returns
        tokens."""
        result = services.complete_second_factor(
            **_data(s.SignInMfaSerializer, request),
            client=client_of(request),
            issue_tokens=True,
            transport=sign_in_transport(request),
        )
        return signed_in_response(request, result.user, result.tokens)


def mfa_required_response(result) -> Response:
    """The 202 answer of a correct first factor on an account with a second
    factor."""
    body = {
        "mfa_required": True,
        "mfa_token": result.mfa_token,
        "methods": result.methods,
        "expires_in": result.expires_in,
    }
    # The mfa_token is a credential: never in a browser or proxy cache.
    return Response(body, status=status.HTTP_202_ACCEPTED, headers=NO_STORE)


class SignInCodeBase(PublicApi):
    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # Off means absent: 404 before the body is even read.
        if not services.signin_by_code_enabled():
            raise NotFound()


class SignInCodeRequestApi(SignInCodeBase):
    @extend_schema(
        request=s.EmailSerializer,
        responses={
            200: s.CodeTokenSerializer,
            400: ERRORS_400,
            404: OpenApiResponse(description="SIGNIN_BY_CODE is off."),
            429: OpenApiResponse(s.DetailSerializer),
        },
    )
    def post(self, request):
        """Takes an email; emails a sign-in code if a usable account has it.
        Answers a code_token for every address, to send back with the code."""
        code_token = services.request_signin_code(
            **_data(s.EmailSerializer, request), client=client_of(request)
        )
        # The code_token is half of a credential: never in a cache.
        return Response({"code_token": code_token}, headers=NO_STORE)


class SignInCodeApi(SignInCodeBase):
    @extend_schema(
        parameters=[TRANSPORT_HEADER],
        request=s.SignInCodeSerializer,
        responses={
            200: s.TokenResponseSerializer,
            202: OpenApiResponse(
                s.MfaRequiredSerializer,
                description="The account has a second factor: POST the "
                "mfa_token with a code to /auth/signin/mfa.",
            ),
            400: OpenApiResponse(
                description='Field errors, or {"detail": "Invalid or expired code"} '
                "for a wrong code or an unknown, used, expired or outdated "
                "code_token."
            ),
            403: OpenApiResponse(
                s.DetailSerializer,
                description="Inactive account; or the cookie transport from an "
                "Origin that is not allowed.",
            ),
            404: OpenApiResponse(description="SIGNIN_BY_CODE is off."),
            429: OpenApiResponse(s.DetailSerializer),
        },
    )
    def post(self, request):
        """Takes the code_token of a code request and the emailed code;
        returns tokens, or 202 with an mfa_token when the account has a
        second factor."""
        result = services.sign_in_with_code(
            **_data(s.SignInCodeSerializer, request),
            client=client_of(request),
            issue_tokens=True,
            transport=sign_in_transport(request),
        )
        if isinstance(result, services.SecondFactorNeeded):
            return mfa_required_response(result)
        return signed_in_response(request, result.user, result.tokens)


class ReauthenticateApi(APIView):
    allowed_while_confined = CONFINED_MAY_USE_ALL_METHODS

    @extend_schema(
        request=s.ReauthenticateSerializer,
        responses={
            200: s.AccessTokenResponseSerializer,
            400: ERRORS_400,
            401: ERROR_401,
        },
    )
    def post(self, request):
        """Takes the password (accounts without a second factor), a code, or
        a passkey (challenge_token from options for purpose reauth, and
        credential); returns a new access token for this session, which now
        counts as a recent sign-in. The refresh token is unchanged."""
        result = services.reauthenticate(
            user=request.user,
            assurance=assurance_of(request),
            **_data(s.ReauthenticateSerializer, request),
            client=client_of(request),
        )
        body = {
            "access_token": result.access_token,
            "token_type": "Bearer",
            "expires_in": result.expires_in,
        }
        return Response(body, headers=NO_STORE)


class CookieClearingApi(APIView):
    """Clears the refresh cookie on a 401 of a request that used it, so a dead
    cookie is not presented again and again."""

    used_cookie = False

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        if self.used_cookie and response.status_code == 401:
            transport.clear_refresh_cookie(response)
        return response


class RefreshApi(DirectRefresh, CookieClearingApi, PublicApi):
    @extend_schema(
        parameters=[TRANSPORT_HEADER],
        request=s.RefreshTokenSerializer,
        responses={
            200: s.TokenResponseSerializer,
            400: ERRORS_400,
            401: OpenApiResponse(
                s.DetailSerializer,
                description="Invalid, expired, signed-out or reused refresh "
                "token (reuse revokes every session of the user); with the "
                "cookie transport the cookie is cleared.",
            ),
            403: ERROR_403_TRANSPORT,
            409: OpenApiResponse(
                s.CodedDetailSerializer,
                description="refresh_conflict: the token was rotated by another "
                "refresh less than 10 s ago (two tabs). Nothing is revoked and "
                "the cookie is left alone: retry with the current token.",
            ),
        },
    )
    def post(self, request):
        """Takes a refresh token (with `X-Token-Transport: cookie`: none, the
        cookie carries it); returns a new access and a rotated refresh token
        (a cookie session's in its cookie)."""
        if transport.requested(request) == transport.COOKIE:
            transport.refuse_body_token(request)
            _data(s.EmptySerializer, request)
            self.used_cookie = True
            refresh_token = transport.cookie_token(request)
        else:
            refresh_token = _data(s.RefreshTokenSerializer, request)["refresh_token"]
        return self.answer(self.rotate(refresh_token, client_of(request)))

    @staticmethod
    def rotate(refresh_token, client):
        return services.rotate_refresh_token(refresh_token=refresh_token, client=client)

    answer = staticmethod(token_response)


class SignOutApi(CookieClearingApi):
    allowed_while_confined = CONFINED_MAY_USE_ALL_METHODS

    @extend_schema(
        parameters=[TRANSPORT_HEADER],
        request=s.RefreshTokenSerializer,
        responses={
            204: None,
            400: ERRORS_400,
            401: ERROR_401,
            403: ERROR_403_TRANSPORT,
        },
    )
    def post(self, request):
        """Takes the caller's refresh token and ends its session (with
        `X-Token-Transport: cookie`: no body, the cookie's session, or this
        access token's when the cookie is gone). Clears the cookie."""
        if transport.requested(request) == transport.COOKIE:
            transport.refuse_body_token(request)
            _data(s.EmptySerializer, request)
            self.used_cookie = True
            refresh_token = transport.cookie_token(request)
            if refresh_token:
                services.sign_out(
                    user=request.user,
                    refresh_token=refresh_token,
                    client=client_of(request),
                )
            else:
                services.sign_out_session(
                    user=request.user,
                    session_id=request.auth.get(tokens.SESSION_CLAIM),
                    client=client_of(request),
                )
        else:
            data = _data(s.RefreshTokenSerializer, request)
            services.sign_out(user=request.user, **data, client=client_of(request))
        return _cookie_cleared(Response(status=status.HTTP_204_NO_CONTENT))


def _cookie_cleared(response: Response) -> Response:
    transport.clear_refresh_cookie(response)
    return response


class SignOutAllApi(APIView):
    allowed_while_confined = CONFINED_MAY_USE_ALL_METHODS

    @extend_schema(request=None, responses={204: None, 401: ERROR_401})
    def post(self, request):
        """Revokes every token of the caller, access tokens included, and
        clears the refresh cookie."""
        services.sign_out_all(user=request.user, client=client_of(request))
        return _cookie_cleared(Response(status=status.HTTP_204_NO_CONTENT))


class SessionListApi(APIView):
    allowed_while_confined = CONFINED_MAY_READ

    @extend_schema(responses={200: s.SessionSerializer(many=True), 401: ERROR_401})
    def get(self, request):
        """Lists the caller's active API sessions; `current` marks this one."""
        sessions = services.active_sessions(user=request.user)
        context = {"current_session_id": request.auth.get(tokens.SESSION_CLAIM)}
        return Response(s.SessionSerializer(sessions, many=True, context=context).data)


class SessionDetailApi(APIView):
    allowed_while_confined = frozenset({"DELETE"})

    @extend_schema(
        request=None,
        responses={204: None, 401: ERROR_401, 404: OpenApiResponse(s.DetailSerializer)},
    )
    def delete(self, request, session_id):
        """Revokes one of the caller's sessions (its refresh token stops working)."""
        services.revoke_session(
            user=request.user, session_id=session_id, client=client_of(request)
        )
        response = Response(status=status.HTTP_204_NO_CONTENT)
        # (revoke_session has checked that session_id is a UUID.)
        own = request.auth.get(tokens.SESSION_CLAIM)
        if str(uuid.UUID(session_id)) == str(own):
            # The caller's own session: its refresh cookie, if any, is dead.
            transport.clear_refresh_cookie(response)
        return response


class EnrolCodeApi(APIView):
    allowed_while_confined = CONFINED_MAY_USE_ALL_METHODS

    @extend_schema(
        request=None,
        responses={
            200: s.EnrolCodeSentSerializer,
            401: ERROR_401,
            409: OpenApiResponse(
                s.CodedDetailSerializer,
                description="not_confined: this session needs no code.",
            ),
        },
    )
    def post(self, request):
        """Emails a code that this confined session sends as `email_code` with
        the first factor it enrols (TOTP confirm or passkey registration)."""
        services.send_enrol_code(
            user=request.user,
            assurance=assurance_of(request),
            client=client_of(request),
        )
        return Response(
            {
                "detail": "A code is on its way to your email address.",
                "expires_in": int(services.ENROL_CODE_LIFETIME.total_seconds()),
            }
        )


class ForgotPasswordApi(PublicApi):
    @extend_schema(
        request=s.EmailSerializer, responses={200: s.DetailSerializer, 400: ERRORS_400}
    )
    def post(self, request):
        """Takes an email; emails a reset link if an active account has it. The
        answer is the same either way."""
        services.request_password_reset(
            **_data(s.EmailSerializer, request), client=client_of(request)
        )
        return Response(
            {
                "detail": "If an account uses this address, "
                "a password reset link is on its way."
            }
        )


class ResetPasswordApi(PublicApi):
    @extend_schema(
        request=s.ResetPasswordSerializer,
        responses={200: s.DetailSerializer, 400: ERRORS_400},
    )
    def post(self, request):
        """Takes uid, token and new_password from a reset link; sets the password."""
        services.reset_password(
            **_data(s.ResetPasswordSerializer, request), client=client_of(request)
        )
        return Response({"detail": "Password reset successfully"})


class ChangePasswordApi(APIView):
    @extend_schema(
        request=s.ChangePasswordSerializer,
        responses={200: s.TokenResponseSerializer, 400: ERRORS_400, 401: ERROR_401},
    )
    def post(self, request):
        """Takes old and new password; returns fresh tokens, every older one revoked."""
        data = _data(s.ChangePasswordSerializer, request)
        pair = services.change_password(
            user=request.user,
            **data,
            client=client_of(request),
            issue_tokens=True,
            session_id=request.auth.get(tokens.SESSION_CLAIM),
            assurance=assurance_of(request),
        )
        return token_response(pair, request.user)


class VerifyEmailApi(PublicApi):
    @extend_schema(
        request=s.VerifyEmailSerializer,
        responses={200: s.DetailSerializer, 400: ERRORS_400},
    )
    def post(self, request):
        """Takes uid and token from a verification link; marks the address verified."""
        services.verify_email(
            **_data(s.VerifyEmailSerializer, request), client=client_of(request)
        )
        return Response({"detail": "Email address verified"})


class ResendVerificationApi(PublicApi):
    @extend_schema(
        request=s.EmailSerializer, responses={200: s.DetailSerializer, 400: ERRORS_400}
    )
    def post(self, request):
        """Takes an email; sends a new verification link to an unverified account.
        The answer is the same whatever the account."""
        services.resend_verification(
            **_data(s.EmailSerializer, request), client=client_of(request)
        )
        return Response(
            {"detail": "If this address needs verifying, a new link is on its way."}
        )


ERROR_403_ME = OpenApiResponse(
    s.DetailSerializer,
    description="reauthentication_required: the change needs a recent sign-in "
    "(a new email, deleting the account); or mfa_setup_required.",
)


class MeApi(DirectGet, APIView):
    allowed_while_confined = CONFINED_MAY_READ

    @staticmethod
    def direct_get_data(user):
        return represent(s.MeSerializer, user)

    @extend_schema(responses={200: s.MeSerializer, 401: ERROR_401})
    def get(self, request):
        """Returns the caller's account."""
        return Response(self.direct_get_data(request.user))

    @extend_schema(
        request=s.UpdateProfileSerializer,
        responses={
            200: s.MeSerializer,
            400: ERRORS_400,
            401: ERROR_401,
            403: ERROR_403_ME,
        },
    )
    def patch(self, request):
        """Takes any of username, email, first_name, last_name; returns the account.
        A new email only becomes `pending_email` until the new address confirms
        it (needs a recent sign-in)."""
        data = _data(s.UpdateProfileSerializer, request, partial=True)
        user = services.update_profile(
            user=request.user,
            client=client_of(request),
            assurance=assurance_of(request),
            **data,
        )
        return Response(s.MeSerializer(user).data)

    @extend_schema(
        request=s.DeleteAccountSerializer,
        responses={204: None, 400: ERRORS_400, 401: ERROR_401, 403: ERROR_403_ME},
    )
    def delete(self, request):
        """Takes the password; deletes the account and revokes every token."""
        data = _data(s.DeleteAccountSerializer, request)
        services.delete_account(
            user=request.user,
            **data,
            client=client_of(request),
            session_id=request.auth.get(tokens.SESSION_CLAIM),
            assurance=assurance_of(request),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


# Secrets and codes must never sit in a browser or proxy cache.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
ERROR_403_REAUTH = OpenApiResponse(
    s.DetailSerializer,
    description="reauthentication_required: sign in again or reauthenticate.",
)
ERROR_404_FACTOR = OpenApiResponse(s.DetailSerializer, description="Nothing to act on.")
ERROR_409 = OpenApiResponse(
    s.DetailSerializer, description="Not possible in the account's current state."
)


class ExportApi(APIView):
    @extend_schema(
        responses={
            200: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description=(
                    "An attachment (identity-export-<username>-<date>.json): the "
                    "account (`user`), `pending_email`, API `sessions`, audit "
                    "`events` (type, created_at, ip, door; `actor` is `staff` or "
                    "`system` for events someone else caused, without their "
                    "address), `authenticators` (kind, name, dates) and "
                    "`recovery_codes.remaining`. Never a hash, secret, code or "
                    "token id. At most 5 an hour per account."
                ),
            ),
            401: ERROR_401,
            403: ERROR_403_REAUTH,
            429: OpenApiResponse(s.DetailSerializer, description="Too many exports."),
        },
    )
    def get(self, request):
        """Downloads everything the service holds about the caller (needs a
        recent sign-in; the owner is emailed)."""
        document = services.export_account_data(
            user=request.user,
            assurance=assurance_of(request),
            client=client_of(request),
        )
        filename = services.export_filename(document)
        return Response(
            document,
            headers={
                **NO_STORE,
                "Content-Disposition": f'attachment; filename="{filename}"',
            },
        )


class MfaApi(APIView):
    allowed_while_confined = CONFINED_MAY_USE_ALL_METHODS

    @extend_schema(responses={200: s.MfaStatusSerializer, 401: ERROR_401})
    def get(self, request):
        """Returns the caller's second factors and how many recovery codes remain."""
        return Response(
            s.MfaStatusSerializer(services.mfa_status(user=request.user)).data
        )


class TotpSetupApi(APIView):
    allowed_while_confined = CONFINED_MAY_USE_ALL_METHODS

    @extend_schema(
        request=None,
        responses={
            200: s.TotpSetupSerializer,
            400: ERRORS_400,
            401: ERROR_401,
            403: ERROR_403_REAUTH,
            409: ERROR_409,
        },
    )
    def post(self, request):
        """Starts an authenticator-app set-up in this session; returns its secret,
        its otpauth URI and a QR code (SVG)."""
        _data(s.EmptySerializer, request)
        setup = services.start_totp_setup(
            user=request.user,
            assurance=assurance_of(request),
            client=client_of(request),
        )
        return Response(s.TotpSetupSerializer(setup).data, headers=NO_STORE)


class TotpConfirmApi(APIView):
    allowed_while_confined = CONFINED_MAY_USE_ALL_METHODS

    @extend_schema(
        request=s.TotpCodeSerializer,
        responses={
            200: s.TotpConfirmedSerializer,
            400: ERRORS_400,
            401: ERROR_401,
            403: ERROR_403_REAUTH,
            404: ERROR_404_FACTOR,
            409: ERROR_409,
        },
    )
    def post(self, request):
        """Takes the app's first code; turns the app on. Returns recovery codes
        when it is the account's first factor."""
        data = _data(s.TotpCodeSerializer, request)
        confirmed = services.confirm_totp(
            user=request.user,
            **data,
            assurance=assurance_of(request),
            client=client_of(request),
        )
        body = {}
        if confirmed.recovery_codes:
            body["recovery_codes"] = confirmed.recovery_codes
        return Response(body, headers=NO_STORE)


class TotpApi(APIView):
    allowed_while_confined = CONFINED_MAY_USE_ALL_METHODS

    @extend_schema(
        request=None,
        responses={
            204: None,
            401: ERROR_401,
            403: ERROR_403_REAUTH,
            404: ERROR_404_FACTOR,
            409: ERROR_409,
        },
    )
    def delete(self, request):
        """Turns the authenticator app off."""
        services.disable_totp(
            user=request.user,
            assurance=assurance_of(request),
            client=client_of(request),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class RecoveryCodesApi(APIView):
    allowed_while_confined = CONFINED_MAY_USE_ALL_METHODS

    @extend_schema(
        request=None,
        responses={
            200: s.RecoveryCodesSerializer,
            400: ERRORS_400,
            401: ERROR_401,
            403: ERROR_403_REAUTH,
            404: ERROR_404_FACTOR,
        },
    )
    def post(self, request):
        """Returns a new set of recovery codes; the earlier ones stop working."""
        _data(s.EmptySerializer, request)
        new_codes = services.regenerate_recovery_codes(
            user=request.user,
            assurance=assurance_of(request),
            client=client_of(request),
        )
        return Response({"recovery_codes": new_codes}, headers=NO_STORE)


class WebAuthnOptionsApi(APIView):
    # Anonymous for purposes signin and mfa; a bearer token for register and
    # reauth (checked below, since the purpose is in the body).
    permission_classes = [NotConfined]
    allowed_while_confined = CONFINED_MAY_USE_ALL_METHODS

    @extend_schema(
        request=s.WebAuthnOptionsRequestSerializer,
        responses={
            200: s.WebAuthnOptionsSerializer,
            400: ERRORS_400,
            401: OpenApiResponse(
                s.DetailSerializer,
                description="register/reauth without a bearer token; mfa with "
                "an unknown, expired or used mfa_token.",
            ),
            403: ERROR_403_REAUTH,
            409: OpenApiResponse(
                s.CodedDetailSerializer,
                description="email_unverified (register).",
            ),
            429: OpenApiResponse(s.DetailSerializer),
        },
    )
    def post(self, request):
        """Starts a WebAuthn ceremony: purpose register (bearer, recent
        sign-in), reauth (bearer), mfa (with the mfa_token of a 202 sign-in)
        or signin (nobody). Returns the options for the browser and the
        challenge_token to send back with the credential."""
        data = _data(s.WebAuthnOptionsRequestSerializer, request)
        purpose = data["purpose"]
        signed_in = bool(request.user and request.user.is_authenticated)
        if purpose in ("register", "reauth") and not signed_in:
            raise exceptions.NotAuthenticated()
        result = services.webauthn_options(
            purpose=purpose,
            user=request.user if purpose in ("register", "reauth") else None,
            assurance=assurance_of(request),
            mfa_token=data.get("mfa_token"),
            client=client_of(request),
        )
        body = {"options": result.options, "challenge_token": result.challenge_token}
        return Response(body, headers=NO_STORE)


class PasskeyListApi(APIView):
    allowed_while_confined = CONFINED_MAY_USE_ALL_METHODS

    @extend_schema(responses={200: s.PasskeySerializer(many=True), 401: ERROR_401})
    def get(self, request):
        """Lists the caller's passkeys."""
        passkeys = services.list_passkeys(user=request.user)
        return Response(s.PasskeySerializer(passkeys, many=True).data)

    @extend_schema(
        request=s.PasskeyRegisterSerializer,
        responses={
            201: s.PasskeyRegisteredSerializer,
            400: OpenApiResponse(
                description='{"credential": [...]}: the attestation does not '
                "verify, its challenge is used, expired or not this session's, "
                "or the passkey is registered already; or other field errors "
                "(email_code while confined)."
            ),
            401: ERROR_401,
            403: ERROR_403_REAUTH,
            409: OpenApiResponse(
                s.CodedDetailSerializer, description="email_unverified"
            ),
        },
    )
    def post(self, request):
        """Adds the passkey the browser created from register options
        (challenge_token, credential, optional name; email_code while the
        session is confined). Returns it, with recovery codes when it is the
        account's first factor."""
        data = _data(s.PasskeyRegisterSerializer, request)
        registered = services.register_passkey(
            user=request.user,
            assurance=assurance_of(request),
            **data,
            client=client_of(request),
        )
        body = dict(s.PasskeySerializer(registered.passkey).data)
        if registered.recovery_codes:
            body["recovery_codes"] = registered.recovery_codes
        return Response(body, status=status.HTTP_201_CREATED, headers=NO_STORE)


class PasskeyDetailApi(APIView):
    allowed_while_confined = CONFINED_MAY_USE_ALL_METHODS

    @extend_schema(
        request=s.PasskeyRenameSerializer,
        responses={
            200: s.PasskeySerializer,
            400: ERRORS_400,
            401: ERROR_401,
            404: OpenApiResponse(s.DetailSerializer, description="No such passkey."),
        },
    )
    def patch(self, request, passkey_id):
        """Renames one of the caller's passkeys (no recent sign-in needed)."""
        data = _data(s.PasskeyRenameSerializer, request)
        passkey = services.rename_passkey(
            user=request.user,
            passkey_id=passkey_id,
            name=data["name"],
            client=client_of(request),
        )
        return Response(s.PasskeySerializer(passkey).data)

    @extend_schema(
        request=None,
        responses={
            204: None,
            401: ERROR_401,
            403: ERROR_403_REAUTH,
            404: OpenApiResponse(s.DetailSerializer, description="No such passkey."),
            409: OpenApiResponse(
                s.CodedDetailSerializer,
                description="mfa_required: the account's last factor, and "
                "MFA_REQUIRED covers the account.",
            ),
        },
    )
    def delete(self, request, passkey_id):
        """Removes one of the caller's passkeys (recent sign-in); the recovery
        codes go with the account's last factor."""
        services.remove_passkey(
            user=request.user,
            passkey_id=passkey_id,
            assurance=assurance_of(request),
            client=client_of(request),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasskeySignInApi(PublicApi):
    @extend_schema(
        parameters=[TRANSPORT_HEADER],
        request=s.PasskeySignInSerializer,
        responses={
            200: s.TokenResponseSerializer,
            400: ERRORS_400,
            401: OpenApiResponse(
                s.DetailSerializer,
                description="Passkey not accepted: unknown or removed "
                "credential, bad signature, used or expired challenge, wrong "
                "userHandle, counter problem, wrong origin or rp id, no UP/UV.",
            ),
            403: OpenApiResponse(
                s.DetailSerializer,
                description="Inactive or unverified account; or the cookie "
                "transport from an Origin that is not allowed.",
            ),
            429: OpenApiResponse(s.DetailSerializer),
        },
    )
    def post(self, request):
        """Passwordless sign-in: takes the challenge_token of options for
        purpose signin and the credential the browser returned; returns
        tokens (aal 2, amr ["pk"]). No further factor is asked."""
        result = services.sign_in_with_passkey(
            **_data(s.PasskeySignInSerializer, request),
            client=client_of(request),
            issue_tokens=True,
            transport=sign_in_transport(request),
        )
        return signed_in_response(request, result.user, result.tokens)


class ConfirmEmailChangeApi(PublicApi):
    @extend_schema(
        request=s.EmailChangeTokenSerializer,
        responses={200: s.MeSerializer, 400: ERRORS_400},
    )
    def post(self, request):
        """Takes the token of a confirmation link; switches the account to its
        pending address, verified, and signs every session out."""
        user = services.confirm_email_change(
            **_data(s.EmailChangeTokenSerializer, request), client=client_of(request)
        )
        return Response(s.MeSerializer(user).data)


class CancelEmailChangeApi(PublicApi):
    @extend_schema(
        request=s.EmailChangeTokenSerializer,
        responses={200: s.DetailSerializer, 400: ERRORS_400},
    )
    def post(self, request):
        """Takes the token of a cancel link; withdraws the pending address change."""
        services.cancel_email_change(
            **_data(s.EmailChangeTokenSerializer, request), client=client_of(request)
        )
        return Response({"detail": "The email change was cancelled."})


class PendingEmailApi(APIView):
    @extend_schema(request=None, responses={204: None, 401: ERROR_401})
    def delete(self, request):
        """Withdraws the caller's pending address change, if any."""
        services.withdraw_email_change(user=request.user, client=client_of(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class HealthApi(PublicApi):
    @extend_schema(responses={200: s.HealthSerializer, 503: s.HealthSerializer})
    def get(self, request):
        """Reports whether the database and the cache answer."""
        body = health.liveness()
        return Response(body, status=200 if body["status"] == "ok" else 503)


class JwksApi(PublicApi):
    @extend_schema(
        responses={
            200: inline_serializer(
                "Jwks", {"keys": serializers.ListField(child=serializers.DictField())}
            )
        }
    )
    def get(self, request):
        """Publishes the public signing keys (RS*/ES* only) as a JWK set."""
        return Response(signing_keys.jwks())


class StaffApi(APIView):
    permission_classes = [NotConfined, IsAdminUser]


class UserListApi(StaffApi):
    @extend_schema(
        operation_id="users_list",
        parameters=[s.StaffUserQuerySerializer],
        responses={
            200: inline_serializer(
                "StaffUserPage",
                {
                    "next": serializers.URLField(allow_null=True),
                    "previous": serializers.URLField(allow_null=True),
                    "results": s.StaffUserSerializer(many=True),
                },
            ),
            400: ERRORS_400,
            401: ERROR_401,
            403: ERROR_403,
            404: OpenApiResponse(s.DetailSerializer, description="Invalid cursor"),
        },
    )
    def get(self, request):
        """Lists accounts, soft-deleted ones too: search, filters, cursor pages."""
        query = _query(s.StaffUserQuerySerializer, request)
        query.pop("cursor", None)
        query.pop("page_size", None)
        users = selectors.staff_user_list(**query).select_related("tier")
        paginator = StaffCursorPagination()
        self.cursor_ordering = selectors.ordering_key(query["ordering"])
        page = paginator.paginate_queryset(users, request, view=self)
        return paginator.get_paginated_response(
            s.StaffUserSerializer(page, many=True).data
        )

    @extend_schema(
        request=s.StaffCreateUserSerializer,
        responses={
            201: s.StaffUserSerializer,
            400: ERRORS_400,
            401: ERROR_401,
            403: ERROR_403,
        },
    )
    def post(self, request):
        """Creates an account; without a password, emails a set-password link."""
        data = _data(s.StaffCreateUserSerializer, request)
        user = services.create_user(
            actor=request.user,
            client=client_of(request),
            assurance=assurance_of(request),
            **data,
        )
        return Response(
            s.StaffUserSerializer(user).data, status=status.HTTP_201_CREATED
        )


class UserDetailApi(StaffApi):
    @extend_schema(
        responses={
            200: s.StaffUserSerializer,
            401: ERROR_401,
            403: ERROR_403,
            404: ERROR_404,
        }
    )
    def get(self, request, user_id):
        """Returns one account."""
        return Response(s.StaffUserSerializer(selectors.user_by_id(user_id)).data)

    @extend_schema(
        request=s.StaffUpdateUserSerializer,
        responses={
            200: s.StaffUserSerializer,
            400: ERRORS_400,
            401: ERROR_401,
            403: ERROR_403,
            404: ERROR_404,
        },
    )
    def patch(self, request, user_id):
        """Changes an account. Staff who are not superusers change only accounts
        outside staff scope; only superusers change is_staff or is_superuser."""
        user = selectors.user_by_id(user_id)
        data = _data(s.StaffUpdateUserSerializer, request, partial=True)
        user = services.update_user(
            actor=request.user,
            user=user,
            client=client_of(request),
            assurance=assurance_of(request),
            **data,
        )
        return Response(s.StaffUserSerializer(user).data)

    @extend_schema(
        request=None,
        responses={204: None, 401: ERROR_401, 403: ERROR_403, 404: ERROR_404},
    )
    def delete(self, request, user_id):
        """Deletes an account for good, with its sessions (never one's own; staff
        accounts only by a superuser)."""
        services.delete_user(
            actor=request.user,
            user=selectors.user_by_id(user_id),
            assurance=assurance_of(request),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


READINESS = inline_serializer(
    "Readiness",
    {
        "status": serializers.CharField(help_text="ok or unavailable"),
        "database": serializers.CharField(help_text="ok or unavailable"),
        "cache": serializers.CharField(help_text="ok or unavailable"),
        "email_queue": serializers.CharField(
            help_text="ok, stalled (a due email waited too long) or unavailable"
        ),
        "oldest_pending_seconds": serializers.IntegerField(allow_null=True),
    },
)


class HealthReadyApi(PublicApi):
    @extend_schema(responses={200: READINESS, 503: READINESS})
    def get(self, request):
        """Reports whether this process is ready for traffic: the database and the
        cache answer, and no email has waited longer than EMAIL_QUEUE_MAX_AGE."""
        body = health.readiness()
        return Response(body, status=200 if body["status"] == "ok" else 503)
