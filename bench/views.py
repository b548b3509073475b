"""The benchmark's reference view, mounted only when BENCH_ENDPOINTS is on.

It does nothing an API view does (no DRF, no token, no query) but passes through
the same middleware, so its throughput is the ceiling for any request in this
stack: `me` is judged against it. A plain Django view, so drf-spectacular never
sees it and it stays out of the OpenAPI schema.
"""

from django.http import JsonResponse
from django.views.decorators.http import require_GET


@require_GET
def ceiling(request):
    """A small JSON document, about the size of an error body."""
    return JsonResponse({"status": "ok", "service": "identity"})
