"""The example SPA is served only while EXAMPLE_SPA is on (DEBUG by default),
as two fixed files under the site's CSP."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def spa_on(settings):
    settings.EXAMPLE_SPA = True


@pytest.mark.parametrize("path", ["/examples/spa/", "/examples/spa/app.js"])
def test_example_spa_is_absent_when_off(client, settings, path):
    settings.EXAMPLE_SPA = False

    assert client.get(path).status_code == 404


def test_example_spa_page_runs_under_the_sites_csp(client, spa_on):
    response = client.get("/examples/spa/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = b"".join(response.streaming_content).decode()
    assert '<script src="/examples/spa/app.js" defer></script>' in html
    assert "<style" not in html and " style=" not in html
    assert "<script>" not in html
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp


def test_example_spa_script_is_served_as_javascript(client, spa_on):
    response = client.get("/examples/spa/app.js")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert b"X-Token-Transport" in b"".join(response.streaming_content)


@pytest.mark.parametrize(
    "path", ["/examples/spa/index.html", "/examples/spa/..%2F..%2Fmanage.py"]
)
def test_only_the_two_files_are_served(client, spa_on, path):
    assert client.get(path).status_code == 404
