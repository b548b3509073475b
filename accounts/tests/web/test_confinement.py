"""MFA_REQUIRED on the pages: a confined browser session is sent to
/accounts/mfa/ from every page (the admin's included) but the few it needs."""

import pytest

from accounts.tests.factories import UserFactory
from accounts.tests.helpers import browser_proving, password_only, two_factors

MFA_PAGE = "/accounts/mfa/"
MATRIX = [
    (scope, role, aal)
    for scope in ("none", "staff", "all")
    for role in ("staff", "member")
    for aal in (1, 2)
]
REFUSED_PAGES = ["/", "/accounts/profile/", "/accounts/password/change/", "/admin/"]
OPEN_PAGES = [
    MFA_PAGE,
    "/accounts/mfa/totp/",
    "/accounts/reauthenticate/",
    "/accounts/security/",
    "/static/css/site.css",
]


def confined_expected(scope, role, aal):
    covered = scope == "all" or (scope == "staff" and role == "staff")
    return covered and aal == 1


def browser_of(role, aal):
    user = UserFactory(is_staff=role == "staff", is_superuser=role == "staff")
    proved = two_factors() if aal == 2 else password_only()
    return user, browser_proving(user, proved)


def sent_to_mfa_setup(response) -> bool:
    return response.status_code == 302 and response["Location"] == MFA_PAGE


@pytest.mark.parametrize(("scope", "role", "aal"), MATRIX)
def test_only_a_confined_session_is_sent_to_set_up_a_factor(
    settings, db, scope, role, aal
):
    settings.MFA_REQUIRED = scope
    _, browser = browser_of(role, aal)

    responses = [browser.get(page) for page in REFUSED_PAGES]

    confined = confined_expected(scope, role, aal)
    assert [sent_to_mfa_setup(r) for r in responses] == [confined] * len(responses)


@pytest.mark.parametrize(("scope", "role", "aal"), MATRIX)
def test_a_confined_session_still_opens_the_pages_it_needs(
    settings, db, scope, role, aal
):
    settings.MFA_REQUIRED = scope
    _, browser = browser_of(role, aal)

    responses = [browser.get(page) for page in OPEN_PAGES]

    assert not any(sent_to_mfa_setup(r) for r in responses)
    assert browser.get("/accounts/security/").status_code == 200


def test_a_confined_session_can_sign_out(settings, db):
    settings.MFA_REQUIRED = "staff"
    _, browser = browser_of("staff", 1)

    response = browser.post("/accounts/signout/")

    assert not sent_to_mfa_setup(response)
    assert "_auth_user_id" not in browser.session


def test_a_confined_session_can_sign_out_of_the_admin(settings, db):
    settings.MFA_REQUIRED = "staff"
    _, browser = browser_of("staff", 1)

    response = browser.post("/admin/logout/")

    assert not sent_to_mfa_setup(response)
    assert "_auth_user_id" not in browser.session


def test_a_confined_session_posting_a_form_changes_nothing(settings, db):
    settings.MFA_REQUIRED = "all"
    user, browser = browser_of("member", 1)

    response = browser.post("/accounts/profile/", {"first_name": "Changed"})

    assert sent_to_mfa_setup(response)
    user.refresh_from_db()
    assert user.first_name != "Changed"


def test_signed_out_visitors_are_not_confined(settings, client, db):
    settings.MFA_REQUIRED = "all"

    response = client.get("/accounts/signin/")

    assert response.status_code == 200
