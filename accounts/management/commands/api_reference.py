"""Write the endpoint reference of docs/api.md from the OpenAPI schema.

The reference is generated, not typed, so it cannot drift from what
/api/schema/ serves; a test fails when the committed file is out of step
(run `manage.py api_reference` after changing an endpoint).
"""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from drf_spectacular.generators import SchemaGenerator

BEGIN = "<!-- BEGIN GENERATED REFERENCE: manage.py api_reference -->"
END = "<!-- END GENERATED REFERENCE -->"
DOCUMENT = Path(settings.BASE_DIR) / "docs" / "api.md"
METHODS = ("get", "post", "put", "patch", "delete")


def render_reference(schema: dict) -> str:
    components = schema["components"]["schemas"]
    lines = []
    for path, operations in sorted(schema["paths"].items()):
        for method in METHODS:
            if method in operations:
                lines += _operation(method, path, operations[method], components)
    return "\n".join(lines).rstrip() + "\n"


def _operation(method: str, path: str, operation: dict, components: dict) -> list:
    lines = [f"### `{method.upper()} {path}`", ""]
    description = (operation.get("description") or "").strip()
    if description:
        lines += [" ".join(description.split()), ""]
    lines += [f"Authentication: {_auth(operation)}.", ""]
    listed = [
        parameter
        for parameter in operation.get("parameters", [])
        if parameter.get("in") in ("query", "header")
    ]
    for parameter in listed:
        lines.append(
            f"- {parameter['in']} `{parameter['name']}`: "
            f"{' '.join((parameter.get('description') or '').split())}".rstrip(": ")
        )
    if listed:
        lines.append("")
    body = operation.get("requestBody", {}).get("content", {})
    if body:
        media = next(iter(body))
        lines += ["Request body:", ""]
        lines += _fields(body[media].get("schema", {}), components)
        lines.append("")
    lines += ["| status | body | meaning |", "|---|---|---|"]
    for status, response in sorted(operation.get("responses", {}).items()):
        content = response.get("content", {})
        shape = "–"
        if content:
            shape = _shape(next(iter(content.values())).get("schema", {}))
        meaning = " ".join((response.get("description") or "").split()) or "–"
        lines.append(f"| {status} | {shape} | {meaning.replace('|', '/')} |")
    lines.append("")
    return lines


def _auth(operation: dict) -> str:
    security = operation.get("security")
    if security is None or any(not item for item in security):
        return "none"
    return "bearer access token"


def _ref_name(schema: dict) -> str | None:
    ref = schema.get("$ref")
    return ref.rsplit("/", 1)[-1] if ref else None


def _shape(schema: dict) -> str:
    if _ref_name(schema):
        return f"`{_ref_name(schema)}`"
    if schema.get("type") == "array":
        return f"list of {_shape(schema.get('items', {}))}"
    if "oneOf" in schema:
        return " or ".join(_shape(item) for item in schema["oneOf"])
    return f"`{schema.get('type', 'object')}`"


def _fields(schema: dict, components: dict) -> list:
    resolved = components.get(_ref_name(schema), schema)
    required = set(resolved.get("required", []))
    lines = []
    for name, field in resolved.get("properties", {}).items():
        kind = field.get("type") or _shape(field)
        if field.get("format"):
            kind += f" ({field['format']})"
        notes = " ".join((field.get("description") or "").split())
        flag = "required" if name in required else "optional"
        lines.append(f"- `{name}` {kind}, {flag}" + (f": {notes}" if notes else ""))
    return lines or ["- (none)"]


def components_reference(schema: dict) -> str:
    components = schema["components"]["schemas"]
    lines = []
    for name in sorted(components):
        if name.endswith("Request"):
            continue  # request bodies are listed with their endpoints
        lines += [f"### `{name}`", ""]
        lines += _fields({"$ref": f"#/components/schemas/{name}"}, components)
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def generated_section() -> str:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return (
        f"{BEGIN}\n\n## Endpoints\n\n{render_reference(schema)}\n"
        f"## Response objects\n\n{components_reference(schema)}\n{END}"
    )


def document_with_reference(text: str) -> str:
    before, begin, rest = text.partition(BEGIN)
    _, end, after = rest.partition(END)
    if not begin or not end:
        raise CommandError(f"{DOCUMENT} lacks the generated-reference markers.")
    return before + generated_section() + after


class Command(BaseCommand):
    help = "Regenerate the endpoint reference in docs/api.md from the OpenAPI schema."

    def add_arguments(self, parser):
        parser.add_argument(
            "--check",
            action="store_true",
            help="Exit non-zero when docs/api.md is out of step, writing nothing.",
        )

    def handle(self, *args, check=False, **options):
        current = DOCUMENT.read_text()
        wanted = document_with_reference(current)
        if check:
            if wanted != current:
                raise CommandError(
                    "docs/api.md is out of step with the schema: "
                    "run manage.py api_reference"
                )
            return
        DOCUMENT.write_text(wanted)
        self.stdout.write(f"Wrote {DOCUMENT}")
