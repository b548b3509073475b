import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts import services
from accounts.errors import (
    InvalidCredentials,
    ServiceError,
    ValidationFailed,
)
from accounts.models import AuthEvent, TokenSession, User
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.helpers import PROVED, fresh_proof

pytestmark = pytest.mark.django_db

CLIENT = services.Client(ip="192.0.2.10", user_agent="pytest")
property_settings = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def test_sign_up_records_the_event_with_the_client():
    result = services.sign_up(
        email="ada@example.com", username="ada", password=PASSWORD, client=CLIENT
    )

    event = AuthEvent.objects.get(user=result.user)
    assert (event.type, event.ip, event.user_agent) == (
        "signup",
        "192.0.2.10",
        "pytest",
    )


def test_a_long_user_agent_is_stored_cut_to_the_length_of_its_columns():
    long_agent = services.Client(ip="192.0.2.10", user_agent="a" * 1000)
    user = UserFactory()

    result = services.sign_in(
        identifier=user.username,
        password=PASSWORD,
        client=long_agent,
        issue_tokens=True,
    )

    event = AuthEvent.objects.get(user=result.user, type="signin_succeeded")
    session = TokenSession.objects.get(user=result.user)
    assert len(event.user_agent) == AuthEvent._meta.get_field("user_agent").max_length
    assert session.user_agent == event.user_agent


def test_sign_in_failure_logs_a_keyed_hash_not_the_identifier():
    with pytest.raises(InvalidCredentials):
        services.sign_in(identifier="ada@example.com", password="wrong", client=CLIENT)

    event = AuthEvent.objects.get(type="signin_failed")
    assert "ada" not in str(event.detail)
    assert len(event.detail["identifier_hash"]) == 16


def test_sign_in_for_an_unknown_account_still_hashes_a_password(monkeypatch):
    calls = []
    original = User.set_password
    monkeypatch.setattr(
        User, "set_password", lambda self, raw: calls.append(1) or original(self, raw)
    )

    with pytest.raises(InvalidCredentials):
        services.sign_in(
            identifier="nobody@example.com", password="whatever", client=CLIENT
        )

    assert calls == [1]


def test_revocation_is_exact_within_the_same_second():
    user = UserFactory()
    before = services.start_api_session(user=user, assurance=PROVED)

    services.sign_out_all(user=user)
    after = services.start_api_session(user=user, assurance=PROVED)

    assert services.rotate_refresh_token(refresh_token=after.refresh_token).access_token
    with pytest.raises(ServiceError):
        services.rotate_refresh_token(refresh_token=before.refresh_token)


def test_sign_up_rolls_back_completely_on_a_late_failure(monkeypatch):
    def explode(user):
        raise RuntimeError("queue down")

    monkeypatch.setattr("accounts.emails.send_welcome", explode)

    with pytest.raises(RuntimeError):
        services.sign_up(email="ada@example.com", username="ada", password=PASSWORD)

    assert not User.objects.exists()
    assert not AuthEvent.objects.exists()


@property_settings
@given(
    username=st.text(max_size=200),
    email=st.text(max_size=300),
    password=st.text(max_size=60),
)
def test_sign_up_with_any_strings_gives_a_clean_error_or_a_consistent_user(
    settings_override, username, email, password
):
    try:
        result = services.sign_up(email=email, username=username, password=password)
    except ValidationFailed as exc:
        assert exc.errors and all(
            field in {"email", "username", "password"} for field in exc.errors
        )
        return

    user = User.objects.get(pk=result.user.pk)
    assert user.email == email.strip().lower()
    assert User.objects.for_login(user.username) == user
    assert user.check_password(password)
    user.delete()


@property_settings
@given(identifier=st.text(max_size=300), password=st.text(max_size=5000))
def test_sign_in_with_any_strings_gives_invalid_credentials(
    settings_override, identifier, password
):
    with pytest.raises(InvalidCredentials):
        services.sign_in(identifier=identifier, password=password)


@property_settings
@given(
    changes=st.dictionaries(
        st.sampled_from(["username", "email", "first_name", "last_name"]),
        st.text(max_size=300),
        max_size=4,
    )
)
def test_update_profile_with_any_strings_never_leaves_an_invalid_row(user, changes):
    try:
        services.update_profile(user=user, assurance=fresh_proof(), **changes)
    except ValidationFailed as exc:
        assert set(exc.errors) <= set(changes)

    fresh = User.objects.get(pk=user.pk)
    fresh.full_clean(
        exclude=["password"], validate_unique=False, validate_constraints=False
    )


@pytest.fixture
def settings_override(settings):
    settings.THROTTLE_RATES = "off"
