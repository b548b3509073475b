from csp.decorators import csp_update
from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts.api.views import JwksApi
from accounts.observability.metrics import metrics_view
from accounts.web.views import HomeView
from identity_site.examples import example_spa

urlpatterns = [
    path("", HomeView.as_view(), name="home"),
    path("accounts/", include("accounts.web.urls")),
    path("api/v1/", include("accounts.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file, so the page
    # runs under the site's CSP; only its bundled inline <style> needs leave.
    path(
        "api/docs/",
        csp_update({"style-src": ["'unsafe-inline'"]})(
            SpectacularSwaggerSplitView.as_view(url_name="schema")
        ),
        name="docs",
    ),
    path(".well-known/jwks.json", JwksApi.as_view(), name="jwks"),
    path("admin/", admin.site.urls),
    path("metrics", metrics_view, name="metrics"),
    # 404 unless EXAMPLE_SPA (default: DEBUG).
    path("examples/spa/", example_spa, name="example_spa"),
    path("examples/spa/<str:name>", example_spa, name="example_spa_file"),
]

# The site's own error pages, JSON under /api/ (accounts/web/error_pages.py).
handler400 = "accounts.web.error_pages.bad_request"
handler403 = "accounts.web.error_pages.permission_denied"
handler404 = "accounts.web.error_pages.page_not_found"
handler500 = "accounts.web.error_pages.server_error"

if settings.BENCH_ENDPOINTS:
    # Only the benchmark's own server turns this on (see bench/views.py);
    # imported here so that no other server loads the bench package.
    from bench.views import ceiling

    urlpatterns.append(path("bench/ceiling", ceiling, name="bench_ceiling"))
