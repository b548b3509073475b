"""docs/api.md carries a reference generated from the OpenAPI schema."""

import pytest
from django.core.management import CommandError, call_command

from accounts.management.commands import api_reference


def test_committed_api_reference_matches_the_schema():
    call_command("api_reference", "--check")


def test_api_reference_check_fails_when_the_document_drifts(tmp_path, monkeypatch):
    stale = tmp_path / "api.md"
    stale.write_text(
        f"# API\n\n{api_reference.BEGIN}\nan endpoint that no longer exists\n"
        f"{api_reference.END}\n"
    )
    monkeypatch.setattr(api_reference, "DOCUMENT", stale)

    with pytest.raises(CommandError, match="out of step"):
        call_command("api_reference", "--check")

    call_command("api_reference")
    assert "### `POST /api/v1/auth/signin`" in stale.read_text()
    call_command("api_reference", "--check")
