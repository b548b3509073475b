""" "Download my data" on the security page: the browser saves one JSON file."""

import json
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import AuthEvent
from accounts.tests.helpers import browser_sign_in

pytestmark = pytest.mark.browser


def test_downloading_my_data_saves_a_json_file(
    page, snap, account, password, mailoutbox
):
    browser_sign_in(page, "ada", password)
    page.goto("/accounts/security/")
    snap("security_export")
    mailoutbox.clear()

    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download my data").click()

    download = download_info.value
    today = timezone.now().date().isoformat()
    assert download.suggested_filename == f"identity-export-ada-{today}.json"
    text = Path(download.path()).read_text(encoding="utf-8")
    document = json.loads(text)
    assert document["user"]["username"] == "ada"
    assert document["user"]["email"] == "ada@example.com"
    account.refresh_from_db()
    assert account.password not in text
    assert "password" not in document["user"]
    # The page stays where it was, and the owner is told by email.
    expect(page.get_by_role("heading", level=1)).to_have_text("Security")
    assert AuthEvent.objects.filter(user=account, type="export").count() == 1
    assert [m.to for m in mailoutbox] == [["ada@example.com"]]
