"""The site's own error pages (DEBUG off, as in every test): 400, 403, the CSRF
failure, 404, 429 and 500 look like the site and leak nothing; under /api/ the
same statuses answer JSON."""

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.tests.error_urls import SECRET
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.helpers import FORGOT_PAGE

pytestmark = pytest.mark.django_db

SITE_HEADER = 'class="site-header"'


@pytest.fixture
def failing_views(settings):
    settings.ROOT_URLCONF = "accounts.tests.error_urls"


@pytest.fixture
def quiet_client():
    """A client that gets the 500 page, as a browser would, instead of the
    exception being raised into the test."""
    return Client(raise_request_exception=False)


def assert_site_page(response, status, heading):
    html = response.content.decode()
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    assert SITE_HEADER in html
    assert f"<h1>{heading}</h1>" in html
    for leak in ("Traceback", "settings", ".py", "/srv/", "hunter2", "Django"):
        assert leak not in html
    return html


def assert_json(response, status, detail):
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": detail}
    assert SECRET not in response.content.decode()


# ---------------------------------------------------------------------------
# 404
# ---------------------------------------------------------------------------
def test_unknown_page_shows_the_sites_404_without_echoing_the_path(client):
    response = client.get("/accounts/no-such-page/<b>secret-word</b>/")

    html = assert_site_page(response, 404, "Page not found")
    assert "secret-word" not in html
    assert 'href="/"' in html


def test_unknown_api_path_answers_json_404(client):
    response = client.get("/api/v1/no-such-endpoint")

    assert_json(response, 404, "Not found.")


# ---------------------------------------------------------------------------
# 400
# ---------------------------------------------------------------------------
def test_request_for_a_foreign_host_shows_the_sites_400(client):
    response = client.get("/", HTTP_HOST="attacker.example")

    html = assert_site_page(response, 400, "Bad request")
    assert "attacker.example" not in html


def test_api_request_for_a_foreign_host_answers_json_400(client):
    response = client.get("/api/v1/health", HTTP_HOST="attacker.example")

    assert_json(response, 400, "Bad request.")


# ---------------------------------------------------------------------------
# CSRF failure
# ---------------------------------------------------------------------------
def stale_post(csrf_client, referer):
    csrf_client.get(FORGOT_PAGE)  # the form sets the CSRF cookie
    return csrf_client.post(
        FORGOT_PAGE,
        {"email": "ada@example.com", "csrfmiddlewaretoken": "x" * 64},
        HTTP_REFERER=referer,
    )


def test_stale_form_shows_the_form_expired_page_linking_back_to_it(
    csrf_client, mailoutbox
):
    response = stale_post(csrf_client, f"http://testserver{FORGOT_PAGE}?from=signin")

    html = assert_site_page(response, 403, "This form expired")
    assert f'href="{FORGOT_PAGE}?from=signin"' in html
    assert "CSRF token" not in html  # Django's reason stays in the log
    assert mailoutbox == []


@pytest.mark.parametrize(
    "referer",
    [
        "https://attacker.example/phish",
        "http://testserver//attacker.example/phish",
        "javascript:alert(1)",
        "",
    ],
)
def test_form_expired_page_links_home_unless_the_referer_is_this_site(
    csrf_client, referer
):
    response = stale_post(csrf_client, referer)

    html = assert_site_page(response, 403, "This form expired")
    assert 'class="button" href="/"' in html
    assert "attacker" not in html
    assert "javascript" not in html


def test_csrf_failure_under_api_answers_json(csrf_client, failing_views):
    response = csrf_client.post("/api/v1/test/guarded", {"any": "thing"})

    assert_json(response, 403, "CSRF verification failed.")


# ---------------------------------------------------------------------------
# 403
# ---------------------------------------------------------------------------
def test_staff_without_the_permission_gets_the_sites_403(client):
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_authevent"))
    client.force_login(staff)

    response = client.get("/admin/accounts/user/")

    assert_site_page(response, 403, "Access denied")


def test_django_level_permission_denied_under_api_answers_json(client, failing_views):
    response = client.get("/api/v1/test/forbidden")

    assert_json(response, 403, "You do not have permission to perform this action.")


# ---------------------------------------------------------------------------
# 429
# ---------------------------------------------------------------------------
def test_throttled_form_shows_the_429_page_with_a_link_back(settings, client):
    settings.THROTTLE_RATES = "password=1/hour"
    client.post(FORGOT_PAGE, {"email": "someone@example.com"})

    response = client.post(FORGOT_PAGE, {"email": "someone@example.com"})

    html = assert_site_page(response, 429, "Too many attempts")
    assert int(response["Retry-After"]) > 0
    assert "Try again in" in html
    assert f'href="{FORGOT_PAGE}"' in html


# ---------------------------------------------------------------------------
# 500
# ---------------------------------------------------------------------------
def test_unexpected_error_shows_the_sites_500_and_leaks_nothing(
    quiet_client, failing_views
):
    response = quiet_client.get("/test/broken/")

    assert_site_page(response, 500, "Something went wrong")


def test_500_page_shows_the_request_reference_for_support(quiet_client, failing_views):
    response = quiet_client.get("/test/broken/", HTTP_X_REQUEST_ID="support-ref-42")

    assert "support-ref-42" in response.content.decode()


def test_500_page_renders_for_a_signed_in_user_without_loading_the_account(
    quiet_client, failing_views
):
    user = UserFactory()
    quiet_client.post(
        "/accounts/signin/", {"username": user.email, "password": PASSWORD}
    )

    with CaptureQueriesContext(connection) as queries:
        response = quiet_client.get("/test/broken/")

    # The failure may be the database itself: the page must not need it.
    assert_site_page(response, 500, "Something went wrong")
    assert not [q for q in queries.captured_queries if "accounts_user" in q["sql"]]


def test_unexpected_error_under_api_answers_json_500(quiet_client, failing_views):
    response = quiet_client.get("/api/v1/test/broken")

    assert_json(response, 500, "A server error occurred.")
