"""The two-factor page's "email me a code" button for a confined session."""

import re

import pytest

from accounts import codes, services
from accounts.errors import EnrolCodeInvalid
from accounts.request_assurance import browser_session_name
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import browser_proving, password_only, two_factors

ENROL_CODE_PAGE = "/accounts/mfa/enrol-code/"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def staff_must_have_mfa(settings):
    settings.MFA_REQUIRED = "staff"


def test_confined_browser_gets_a_code_bound_to_its_session(mailoutbox):
    clerk = UserFactory(is_staff=True)
    browser = browser_proving(clerk, password_only())

    response = browser.post(ENROL_CODE_PAGE)

    assert response.status_code == 302
    assert response["Location"] == "/accounts/mfa/"
    (message,) = mailoutbox
    code = re.search(rf"^([{codes.ALPHABET}]{{6}})$", message.body, re.M).group(1)
    session = password_only().in_session(browser_session_name(browser.session))
    services.check_enrol_code(user=clerk, assurance=session, email_code=code)
    with pytest.raises(EnrolCodeInvalid):
        services.check_enrol_code(user=clerk, assurance=session, email_code=code)


def test_browser_that_is_not_confined_gets_no_code(mailoutbox):
    clerk = UserFactory(is_staff=True)
    browser = browser_proving(clerk, two_factors())

    response = browser.post(ENROL_CODE_PAGE)

    assert response.status_code == 302
    assert mailoutbox == []
