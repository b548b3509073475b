import re

import jsonschema
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


def _as_json_schema(node):
    """OpenAPI 3.0's `nullable` spelled as JSON Schema, so jsonschema can check
    real responses against the published schema."""
    if isinstance(node, list):
        return [_as_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _as_json_schema(value) for key, value in node.items()}
    if node.pop("nullable", False) and "type" in node:
        node["type"] = [node["type"], "null"]
    return node


def _response_schema(api_client, path, method, status):
    document = yaml.safe_load(api_client.get("/api/schema/").content)
    content = document["paths"][path][method]["responses"][status]["content"]
    return _as_json_schema(
        {**content["application/json"]["schema"], "components": document["components"]}
    )


@pytest.mark.parametrize("verification", ["optional", "mandatory"])
def test_signup_201_schema_describes_the_answer_in_both_modes(
    api_client, settings, verification
):
    settings.EMAIL_VERIFICATION = verification
    schema = _response_schema(api_client, "/api/v1/auth/signup", "post", "201")

    response = api_client.post(
        "/api/v1/auth/signup",
        {
            "email": "ada@example.com",
            "username": "ada",
            "password": "tangerine-Quasar-orbit-58",
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    jsonschema.validate(response.json(), schema)


def test_signup_201_schema_tells_the_two_shapes_apart(api_client):
    schema = _response_schema(api_client, "/api/v1/auth/signup", "post", "201")
    tokens = {
        "access_token": "a",
        "refresh_token": "r",
        "token_type": "Bearer",
        "expires_in": 900,
    }

    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"detail": "Account created."}, schema)
    jsonschema.validate(tokens, schema)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/auth/signup",
        "/api/v1/auth/signin",
        "/api/v1/auth/signin/mfa",
        "/api/v1/auth/signin/code",
        "/api/v1/auth/token/refresh",
        "/api/v1/auth/signout",
    ],
)
def test_schema_documents_the_token_transport_header(api_client, path):
    schema = yaml.safe_load(api_client.get("/api/schema/").content)

    parameters = schema["paths"][path]["post"].get("parameters", [])
    assert {"in": "header", "name": "X-Token-Transport"}.items() <= next(
        p for p in parameters if p["name"] == "X-Token-Transport"
    ).items()


def test_schema_documents_the_refresh_conflict(api_client):
    schema = yaml.safe_load(api_client.get("/api/schema/").content)

    conflict = schema["paths"]["/api/v1/auth/token/refresh"]["post"]["responses"]["409"]
    assert "refresh_conflict" in conflict["description"]
