"""The passkey pieces below the API: the relying party from the settings,
the start-up checks, the challenge store, the export, and the service used
as the pages use it (a browser's session name as the binding)."""

from datetime import timedelta

import pytest
import time_machine
from django.core.checks import run_checks

from accounts import relying_party, services
from accounts.assurance import PASSKEY, PASSWORD, Assurance
from accounts.checks import TAG
from accounts.errors import InvalidCredential, PasskeyRejected
from accounts.models import PendingStep
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import fresh_proof
from accounts.tests.passkey_helpers import software_authenticator

pytestmark = pytest.mark.django_db


# The relying party ---------------------------------------------------------
def test_the_rp_id_is_site_urls_host_unless_set(settings):
    settings.SITE_URL = "https://Login.Example.com:8443"
    settings.WEBAUTHN_RP_ID = ""
    assert relying_party.rp_id() == "login.example.com"

    settings.WEBAUTHN_RP_ID = "example.com"
    assert relying_party.rp_id() == "example.com"


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://id.example.com", "https://id.example.com"),
        ("https://id.example.com:443/base/", "https://id.example.com"),
        ("http://localhost:8000", "http://localhost:8000"),
        ("HTTPS://ID.EXAMPLE.COM:8443", "https://id.example.com:8443"),
    ],
)
def test_origins_are_written_as_browsers_write_them(url, origin):
    assert relying_party.origin_of(url) == origin


def test_the_spa_is_an_allowed_origin_only_under_the_rp_id(settings):
    settings.SITE_URL = "https://id.example.com"
    settings.WEBAUTHN_RP_ID = "example.com"
    settings.FRONTEND_URL = "https://app.example.com"
    assert relying_party.allowed_origins() == [
        "https://id.example.com",
        "https://app.example.com",
    ]

    settings.FRONTEND_URL = "https://app.notexample.com"
    assert relying_party.allowed_origins() == ["https://id.example.com"]


@pytest.mark.parametrize(
    ("rp_id", "host", "allowed"),
    [
        ("id.example.com", "id.example.com", True),
        ("example.com", "id.example.com", True),
        ("com", "id.example.com", False),
        ("ample.com", "id.example.com", False),
        ("other.com", "id.example.com", False),
        ("localhost", "localhost", True),
        ("127.0.0.1", "127.0.0.1", True),
        ("0.0.1", "127.0.0.1", False),
    ],
)
def test_registrable_suffixes(rp_id, host, allowed):
    assert relying_party.is_registrable_suffix(rp_id, host) is allowed


# Start-up checks -----------------------------------------------------------
def messages(level_at_least=0):
    return [(e.id, e.msg) for e in run_checks(tags=[TAG]) if e.level >= level_at_least]


def test_an_rp_id_foreign_to_site_url_stops_start_up(settings):
    settings.SITE_URL = "https://id.example.com"
    settings.WEBAUTHN_RP_ID = "example.org"

    errors = [m for i, m in messages() if i == "identity.WEBAUTHN_RP_ID"]

    assert errors and errors[0].startswith("WEBAUTHN_RP_ID:")


@pytest.mark.parametrize("rp_id", ["", "id.example.com", "example.com"])
def test_site_urls_host_or_a_parent_domain_is_fine(settings, rp_id):
    settings.SITE_URL = "https://id.example.com"
    settings.WEBAUTHN_RP_ID = rp_id

    assert not [i for i, _ in messages() if "WEBAUTHN" in i]


def test_an_spa_outside_the_rp_id_is_warned_about(settings):
    settings.SITE_URL = "https://id.example.com"
    settings.WEBAUTHN_RP_ID = ""
    settings.FRONTEND_URL = "https://app.example.org"

    found = dict(messages())

    assert "cannot use passkeys" in found["identity.FRONTEND_URL.webauthn"]
    settings.FRONTEND_URL = "https://spa.id.example.com"
    assert "identity.FRONTEND_URL.webauthn" not in dict(messages())


def test_an_ip_address_site_url_is_warned_about(settings):
    settings.SITE_URL = "http://127.0.0.1:8000"
    settings.WEBAUTHN_RP_ID = ""

    assert "identity.SITE_URL.webauthn" in dict(messages())


# The service as a browser door calls it -------------------------------------
def browser(user, proved: Assurance, key="abc") -> Assurance:
    return proved.in_session(f"web:{key}")


def register_in_browser(user, authenticator, assurance):
    started = services.webauthn_options(
        purpose="register", user=user, assurance=assurance
    )
    return services.register_passkey(
        user=user,
        assurance=assurance,
        challenge_token=started.challenge_token,
        credential=authenticator.create(started.options),
    )


def test_a_browser_registers_with_its_session_name_as_the_binding():
    user = UserFactory()
    authenticator = software_authenticator()
    assurance = browser(user, fresh_proof())

    result = register_in_browser(user, authenticator, assurance)

    assert result.first_factor and len(result.recovery_codes) == 10
    assert result.assurance.aal == 2
    assert result.assurance.amr == (PASSWORD, PASSKEY)
    assert result.assurance.session_id == "web:abc"


def test_a_challenge_asked_in_one_browser_session_fails_in_another():
    user = UserFactory()
    authenticator = software_authenticator()
    one, two = browser(user, fresh_proof(), "one"), browser(user, fresh_proof(), "two")
    started = services.webauthn_options(purpose="register", user=user, assurance=one)

    with pytest.raises(InvalidCredential):
        services.register_passkey(
            user=user,
            assurance=two,
            challenge_token=started.challenge_token,
            credential=authenticator.create(started.options),
        )


def test_a_browser_reauthenticates_with_a_passkey():
    user = UserFactory()
    authenticator = software_authenticator()
    register_in_browser(user, authenticator, browser(user, fresh_proof()))
    stale = browser(user, Assurance(auth_time=1, amr=(PASSWORD,), aal=1))
    started = services.webauthn_options(purpose="reauth", user=user, assurance=stale)

    result = services.reauthenticate(
        user=user,
        assurance=stale,
        challenge_token=started.challenge_token,
        credential=authenticator.get(started.options),
    )

    assert result.access_token is None
    assert result.assurance.aal == 2 and PASSKEY in result.assurance.amr
    assert result.assurance.is_recent(has_mfa=True)


def test_a_revocation_kills_a_challenge_in_progress():
    user = UserFactory()
    authenticator = software_authenticator()
    register_in_browser(user, authenticator, browser(user, fresh_proof()))
    assurance = browser(user, fresh_proof())
    started = services.webauthn_options(
        purpose="reauth", user=user, assurance=assurance
    )
    services.sign_out_all(user=user)

    with pytest.raises(PasskeyRejected):
        services.reauthenticate(
            user=user,
            assurance=assurance,
            challenge_token=started.challenge_token,
            credential=authenticator.get(started.options),
        )


def test_challenges_are_stored_as_digests_and_expire():
    with time_machine.travel("2030-01-01 12:00:00Z", tick=False) as clock:
        started = services.webauthn_options(purpose="signin")
        step = PendingStep.objects.get(purpose="webauthn_signin")
        assert started.challenge_token not in step.digest
        assert step.expires_at - step.created_at == timedelta(minutes=5)
        clock.shift(timedelta(minutes=6))
        services.webauthn_options(purpose="signin")

        # Asking again cleared the expired one away.
        assert PendingStep.objects.filter(purpose="webauthn_signin").count() == 1


# The data export -----------------------------------------------------------
def test_the_export_lists_passkeys_without_key_material():
    user = UserFactory()
    register_in_browser(user, software_authenticator(), browser(user, fresh_proof()))
    passkey = user.authenticators.get()

    document = services.export_account_data(
        user=user,
        assurance=browser(user, fresh_proof()).then(PASSKEY),
        client=services.NO_CLIENT,
    )

    (listed,) = document["authenticators"]
    assert listed == {
        "kind": "passkey",
        "name": "Passkey",
        "created_at": passkey.created_at.isoformat(),
        "last_used_at": None,
    }
    text = str(document)
    assert passkey.credential_id not in text
    assert passkey.aaguid not in text
