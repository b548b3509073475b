"""The two busiest requests answered without DRF's dispatch in their usual
case: `GET /users/me` with a bearer token that checks out, and the refresh
with a well-formed JSON body, on views whose DRF configuration is this
project's production one (JSON only, at most the per-user rate throttle; for
/users/me JWT authentication with IsAuthenticated and NotConfined, for the
refresh no authentication and AllowAny).

DRF's dispatch (its Request, content negotiation, the permission and throttle
objects, the template-response rendering) cost more CPU than the rest of
`GET /users/me` put together, database round trip included. Here the same
pieces do the same checks, in the same order, with the same functions
(JWTAuthentication's token and user checks, revocation included; the view's
own `allowed_while_confined`; the same JSONRenderer); and anything else (no
or a bad token, an Accept header other than JSON or none, a query string,
a user over their rate, other throttle classes, DEBUG's browsable renderer)
goes to DRF unchanged, which
then answers exactly as before, errors included. Nothing is written before
that choice is made, so the fallback repeats no side effect. The refresh
calls the same service and builds its answer with the same token_response;
an error the service raises is answered by the view's own DRF machinery
(negotiation, handle_exception, finalize_response), as DRF's dispatch would.

The URL keeps DRF's view class (`cls`, `initkwargs`), so the OpenAPI schema
and every other method are the view's own.
"""

import functools
import json

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from accounts.api.permissions import NotConfined
from accounts.api.serializers import REFRESH_TOKEN_MAX_LENGTH
from accounts.api.throttling import COUNTED, UserRateThrottle, count_api_call
from accounts.authentication import JWTAuthentication
from accounts.http import client_of

# Accept headers DRF's negotiation answers with the JSON renderer alone.
_JSON_ACCEPTS = frozenset({None, "*/*", "application/json"})
_renderer = JSONRenderer()


class DirectGet:
    """Mixin for an APIView whose successful GET is `direct_get_data(user)`
    rendered as JSON (its `get` must answer exactly that)."""

    @classmethod
    def as_view(cls, **initkwargs):
        drf_view = super().as_view(**initkwargs)
        allow = ", ".join(_allowed_methods(cls))

        @functools.wraps(drf_view)
        def view(request, *args, **kwargs):
            if request.method == "GET" and _production_configuration(cls):
                response = _answer(cls, request, allow)
                if response is not None:
                    return response
            return drf_view(request, *args, **kwargs)

        return view


def _production_configuration(view_class) -> bool:
    return (
        view_class.authentication_classes == [JWTAuthentication]
        and view_class.permission_classes == [IsAuthenticated, NotConfined]
        and _user_rate_at_most(view_class)
        and view_class.renderer_classes == [JSONRenderer]
        and view_class.content_negotiation_class is DefaultContentNegotiation
        and "GET" in getattr(view_class, "allowed_while_confined", ())
        and view_class.get_throttles is APIView.get_throttles
        and view_class.get_permissions is APIView.get_permissions
        and view_class.get_authenticators is APIView.get_authenticators
    )


def _answer(view_class, request, allow: str):
    meta = request.META
    if meta.get("HTTP_ACCEPT") not in _JSON_ACCEPTS or meta.get("QUERY_STRING"):
        return None
    try:
        authenticated = JWTAuthentication().authenticate(request)
    except Exception:  # DRF answers it, with its own error
        return None
    if authenticated is None:
        return None
    user, token = authenticated
    if view_class.throttle_classes:
        # Counted here, once: over the rate, DRF answers the 429 (its error,
        # its Retry-After) with this count instead of counting again.
        retry_after = count_api_call(user)
        if retry_after is not None:
            setattr(request, COUNTED, (retry_after,))
            return None
    # What DRF leaves on the request for the layers around the view (the
    # access log reads the user).
    request.user, request.auth = user, token
    body = _renderer.render(view_class.direct_get_data(user))
    response = HttpResponse(body, content_type="application/json")
    response["Allow"] = allow
    return response


def _user_rate_at_most(view_class) -> bool:
    """No throttle class (THROTTLE_RATES=off), or only the per-user rate, which
    the direct answer counts the same way (anonymous refreshes pass it)."""
    return list(view_class.throttle_classes) in ([], [UserRateThrottle])


def _allowed_methods(view_class) -> list[str]:
    # APIView._allowed_methods on an instance after View.setup, which makes
    # HEAD an alias of GET.
    return [
        method.upper()
        for method in view_class.http_method_names
        if hasattr(view_class, method)
        or (method == "head" and hasattr(view_class, "get"))
    ]


class DirectRefresh:
    """Mixin for the refresh view: a POST whose whole body is
    `{"refresh_token": "<token>"}` and that asks for no other transport is
    `rotate(token, client)` answered by `answer(pair)` (the view's `post` must
    do exactly that for it)."""

    @classmethod
    def as_view(cls, **initkwargs):
        drf_view = super().as_view(**initkwargs)
        allow = ", ".join(_allowed_methods(cls))

        @functools.wraps(drf_view)
        def view(request, *args, **kwargs):
            if request.method == "POST" and _public_json_configuration(cls):
                token = _refresh_token_of(request)
                if token is not None:
                    return _rotated(
                        cls, initkwargs, request, token, allow, args, kwargs
                    )
            return drf_view(request, *args, **kwargs)

        return view


def _public_json_configuration(view_class) -> bool:
    return (
        view_class.authentication_classes == []
        and view_class.permission_classes == [AllowAny]
        and _user_rate_at_most(view_class)
        and view_class.renderer_classes == [JSONRenderer]
        and view_class.parser_classes == [JSONParser]
        and view_class.content_negotiation_class is DefaultContentNegotiation
        and view_class.get_throttles is APIView.get_throttles
        and view_class.get_permissions is APIView.get_permissions
        and view_class.get_authenticators is APIView.get_authenticators
        and view_class.get_parsers is APIView.get_parsers
    )


def _refresh_token_of(request) -> str | None:
    """The token when the body is exactly what RefreshTokenSerializer accepts
    unchanged (one field, a string with nothing to trim, within its length,
    ASCII as every JWT is), else None."""
    meta = request.META
    if (
        meta.get("CONTENT_TYPE") != "application/json"
        or meta.get("HTTP_ACCEPT") not in _JSON_ACCEPTS
        or meta.get("QUERY_STRING")
        or "HTTP_X_TOKEN_TRANSPORT" in meta
    ):
        return None
    try:
        length = int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if length <= 0 or (limit is not None and length > limit):
        return None
    try:
        data = json.loads(request.body.decode("utf-8"))
    except ValueError:
        return None
    if type(data) is not dict or len(data) != 1:
        return None
    token = data.get("refresh_token")
    if (
        type(token) is not str
        or not 0 < len(token) <= REFRESH_TOKEN_MAX_LENGTH
        or not token.isascii()
        or not token.isprintable()
        or token != token.strip()
    ):
        return None
    return token


def _rotated(view_class, initkwargs, request, token, allow, args, kwargs):
    # What DRF leaves on the request of a view without authenticators.
    request.user, request.auth = AnonymousUser(), None
    try:
        pair = view_class.rotate(token, client_of(request))
    except Exception as exc:
        return _drf_error(view_class, initkwargs, request, exc, args, kwargs)
    response = view_class.answer(pair)
    response.accepted_renderer = _renderer
    response.accepted_media_type = _renderer.media_type
    response.renderer_context = {}
    response["Allow"] = allow
    return response


def _drf_error(view_class, initkwargs, request, exc, args, kwargs):
    """DRF's dispatch with a handler that raises `exc`: the same negotiation,
    exception handler and finishing as the long way."""
    view = view_class(**initkwargs)
    view.setup(request, *args, **kwargs)
    view.args, view.kwargs = args, kwargs
    drf_request = view.initialize_request(request, *args, **kwargs)
    view.request = drf_request
    view.headers = view.default_response_headers
    try:
        view.initial(drf_request, *args, **kwargs)
        raise exc
    except Exception as raised:
        response = view.handle_exception(raised)
    view.response = view.finalize_response(drf_request, response, *args, **kwargs)
    return view.response
