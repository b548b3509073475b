"""Where the API turns service errors into HTTP: the one mapping for every view."""

import logging

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.db import DatabaseError
from rest_framework import status
from rest_framework.exceptions import ErrorDetail
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from accounts import errors

logger = logging.getLogger(__name__)

STATUS_BY_ERROR = [
    (errors.InvalidCredentials, status.HTTP_401_UNAUTHORIZED),
    (errors.InvalidRefreshToken, status.HTTP_401_UNAUTHORIZED),
    (errors.SessionRevoked, status.HTTP_401_UNAUTHORIZED),
    (errors.InvalidMfaToken, status.HTTP_401_UNAUTHORIZED),
    (errors.PasskeyRejected, status.HTTP_401_UNAUTHORIZED),
    (errors.InactiveAccount, status.HTTP_403_FORBIDDEN),
    (errors.EmailNotVerified, status.HTTP_403_FORBIDDEN),
    (errors.PermissionDenied, status.HTTP_403_FORBIDDEN),
    (errors.ReauthenticationRequired, status.HTTP_403_FORBIDDEN),
    (errors.MfaSetupRequired, status.HTTP_403_FORBIDDEN),
    (errors.Conflict, status.HTTP_409_CONFLICT),
    (errors.SessionNotFound, status.HTTP_404_NOT_FOUND),
    (errors.NotFound, status.HTTP_404_NOT_FOUND),
    (errors.InvalidToken, status.HTTP_400_BAD_REQUEST),
    (errors.Throttled, status.HTTP_429_TOO_MANY_REQUESTS),
    (errors.ServiceUnavailable, status.HTTP_503_SERVICE_UNAVAILABLE),
]


def exception_handler(exc, context):
    if isinstance(exc, errors.ServiceError):
        return _service_error_response(exc)
    if isinstance(exc, RequestDataTooBig | TooManyFieldsSent):
        # Django refuses oversize bodies before parsing; answer in JSON, not HTML.
        return Response(
            {"detail": ErrorDetail("Request body too large.", "too_large")},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, DatabaseError):
        # A database outage is a 503 the client may retry, never a traceback.
        logger.error("database error during %s", context.get("view"), exc_info=exc)
        return Response(
            {
                "detail": ErrorDetail(
                    "Service temporarily unavailable.", "service_unavailable"
                )
            },
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "5"},
        )
    return drf_exception_handler(exc, context)


def _service_error_response(exc: errors.ServiceError) -> Response:
    if exc.errors:
        body = {
            field: [ErrorDetail(message, code) for message, code in items]
            for field, items in exc.errors.items()
        }
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    code = next(
        (code for kind, code in STATUS_BY_ERROR if isinstance(exc, kind)),
        status.HTTP_400_BAD_REQUEST,
    )
    headers = {}
    if code == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="api"'
    if isinstance(exc, errors.Throttled):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, errors.ServiceUnavailable):
        headers["Retry-After"] = "5"
    body = {"detail": ErrorDetail(exc.message, exc.code)}
    if exc.shows_code:
        body["code"] = exc.code
    return Response(body, status=code, headers=headers)
