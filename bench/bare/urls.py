from django.http import JsonResponse
from django.urls import path


def hello(request):
    """The same small JSON document as the service's /bench/ceiling."""
    return JsonResponse({"status": "ok", "service": "identity"})


urlpatterns = [path("", hello)]
