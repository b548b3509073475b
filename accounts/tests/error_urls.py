"""A test-only URLconf: the site's URLs plus views that fail in ways no real
page fails on purpose (an unexpected exception, a Django-level refusal under
/api/), to open the error pages they lead to."""

from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_protect

from identity_site.urls import (
    handler400,
    handler403,
    handler404,
    handler500,
)
from identity_site.urls import urlpatterns as site_urlpatterns

# What a careless exception might carry: a file path and an internal detail.
SECRET = "db password hunter2 in /srv/identity/settings_local.py"


def broken(request):
    raise RuntimeError(SECRET)


def forbidden(request):
    raise PermissionDenied(SECRET)


@csrf_protect
def guarded(request):
    return HttpResponse("accepted")


urlpatterns = [
    path("test/broken/", broken),
    path("api/v1/test/broken", broken),
    path("api/v1/test/forbidden", forbidden),
    path("api/v1/test/guarded", guarded),
    *site_urlpatterns,
]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
