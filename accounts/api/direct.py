"""GET answered without DRF's dispatch, in the one case that is the bulk of the
traffic: a bearer token that checks out, on a view whose DRF configuration is
this project's production one (JWT authentication, IsAuthenticated and
NotConfined, JSON only, no throttle because THROTTLE_RATES=off).

DRF's dispatch (its Request, content negotiation, the permission and throttle
objects, the template-response rendering) cost more CPU than the rest of
`GET /users/me` put together, database round trip included. Here the same
pieces do the same checks, in the same order, with the same functions
(JWTAuthentication's token and user checks, revocation included; the view's
own `allowed_while_confined`; the same JSONRenderer); and anything else (no
or a bad token, an Accept header other than JSON or none, a query string,
throttles configured, DEBUG's browsable renderer) goes to DRF unchanged, which
then answers exactly as before, errors included. Nothing is written before
that choice is made, so the fallback repeats no side effect.

The URL keeps DRF's view class (`cls`, `initkwargs`), so the OpenAPI schema
and every other method are the view's own.
"""

import functools

from django.http import HttpResponse
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from accounts.api.permissions import NotConfined
from accounts.authentication import JWTAuthentication

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
        and not view_class.throttle_classes
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
    # What DRF leaves on the request for the layers around the view (the
    # access log reads the user).
    request.user, request.auth = user, token
    body = _renderer.render(view_class.direct_get_data(user))
    response = HttpResponse(body, content_type="application/json")
    response["Allow"] = allow
    return response


def _allowed_methods(view_class) -> list[str]:
    # APIView._allowed_methods on an instance after View.setup, which makes
    # HEAD an alias of GET.
    return [
        method.upper()
        for method in view_class.http_method_names
        if hasattr(view_class, method)
        or (method == "head" and hasattr(view_class, "get"))
    ]
