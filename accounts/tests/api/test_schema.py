import re

import pytest
import yaml
from django.urls import get_resolver

pytestmark = pytest.mark.django_db


def test_schema_lists_every_api_v1_endpoint(api_client):
    response = api_client.get("/api/schema/")

    assert response.status_code == 200
    paths = yaml.safe_load(response.content)["paths"]
    routes = {
        "/api/v1/" + re.sub(r"<str:(\w+)>", r"{\1}", str(pattern.pattern))
        for pattern in get_resolver().url_patterns
        if str(pattern.pattern) == "api/v1/"
        for pattern in pattern.url_patterns
    }
    assert routes <= set(paths)


def test_schema_documents_the_bearer_scheme(api_client):
    schema = yaml.safe_load(api_client.get("/api/schema/").content)

    schemes = schema["components"]["securitySchemes"]
    assert any(s.get("scheme") == "bearer" for s in schemes.values())


def test_swagger_ui_is_served_without_a_cdn(api_client):
    response = api_client.get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "cdn" not in html.lower()
    assert "/static/drf_spectacular_sidecar/" in html
