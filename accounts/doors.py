"""Which door a request comes in by, and the middleware only the browser doors
(the pages and the admin) run.

The API and the other machine paths (the JWK set, /metrics) authenticate by
bearer token through DRF, or not at all: they have no use for Django's
session, signed-in user or messages, nor for the browser session rules of
accounts.middleware. Run for every API call, those cost a tenth of a
`/users/me` and put `Vary: Cookie` on answers that never depend on a cookie.
The classes below are those middleware, unchanged for the browser doors and
passing an API request straight on (their process_view / process_exception
hooks included). Because the choice is made inside the one MIDDLEWARE chain,
every way of serving the project (gunicorn, the test client, the live test
server) dispatches alike.

What every request still gets, the API included: the request id, metrics,
SecurityMiddleware, CORS, CommonMiddleware, `Cache-Control: no-store` for
credentials, X-Frame-Options and the CSP header. And Django's CSRF middleware,
whose name `check --deploy` looks for: the API's views are csrf_exempt, so
there it does no more than read a CSRF cookie when one is sent.
"""

from django.contrib.auth import middleware as auth_middleware
from django.contrib.messages import middleware as messages_middleware
from django.contrib.sessions import middleware as sessions_middleware
from whitenoise import middleware as whitenoise_middleware

from accounts import middleware as page_rules

# The paths of the machine doors; everything else is a page or the admin.
API_PATH_PREFIXES = ("/api/", "/.well-known/", "/metrics")


def is_api_path(path_info: str) -> bool:
    return path_info.startswith(API_PATH_PREFIXES)


_HOOKS = ("process_view", "process_exception", "process_template_response")


def _skipping_api(hook):
    def skip_for_api(self, request, *args):
        if is_api_path(request.path_info):
            return None
        return hook(self, request, *args)

    skip_for_api.__name__ = hook.__name__
    return skip_for_api


def pages_only(middleware: type) -> type:
    """`middleware` for the browser doors; API requests go past it."""

    class PagesOnly(middleware):
        def __call__(self, request):
            if is_api_path(request.path_info):
                return self.get_response(request)
            return super().__call__(request)

    for hook in _HOOKS:
        if hasattr(middleware, hook):
            setattr(PagesOnly, hook, _skipping_api(getattr(middleware, hook)))
    PagesOnly.__name__ = PagesOnly.__qualname__ = middleware.__name__
    PagesOnly.__doc__ = f"{middleware.__module__}.{middleware.__name__}, pages only."
    return PagesOnly


WhiteNoiseMiddleware = pages_only(whitenoise_middleware.WhiteNoiseMiddleware)
SessionMiddleware = pages_only(sessions_middleware.SessionMiddleware)
AuthenticationMiddleware = pages_only(auth_middleware.AuthenticationMiddleware)
MessageMiddleware = pages_only(messages_middleware.MessageMiddleware)
IdleTimeoutMiddleware = pages_only(page_rules.IdleTimeoutMiddleware)
MfaSetupMiddleware = pages_only(page_rules.MfaSetupMiddleware)
ReauthenticationMiddleware = pages_only(page_rules.ReauthenticationMiddleware)
