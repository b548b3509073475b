"""Signing in with a passkey through the API: passwordless, as the second
factor after a password or an emailed code, and reauthentication; and every
assertion that must be refused."""

import time
from datetime import timedelta

import pytest
import time_machine
from rest_framework.test import APIClient

from accounts.errors import PasskeyRejected
from accounts.models import AuthEvent, PendingStep, TokenSession
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.helpers import (
    ME,
    REFRESH,
    SIGNIN,
    SIGNIN_MFA,
    emailed_code,
    signed_in,
    stale_by,
)
from accounts.tests.passkey_helpers import (
    PASSKEY_SIGNIN,
    claims,
    options,
    passkey_url,
    reauthenticate_with,
    refreshed,
    registered,
    second_factor_with,
    sign_in_with,
    software_authenticator,
)

pytestmark = pytest.mark.django_db

REJECTED = {"detail": "Passkey not accepted"}


@pytest.fixture
def authenticator(user):
    """A software authenticator holding a passkey of `user`."""
    held = software_authenticator()
    client, tokens = signed_in(user)
    registered(client, held)
    return held


def mfa_token_of(user) -> str:
    response = APIClient().post(
        SIGNIN, {"email": user.email, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 202, response.content
    return response.json()["mfa_token"]


def post_assertion(client, started, credential, path=PASSKEY_SIGNIN, **body):
    return client.post(
        path,
        {
            "challenge_token": started["challenge_token"],
            "credential": credential,
            **body,
        },
        format="json",
    )


def passkey_session(authenticator) -> APIClient:
    """A bearer client of a new passwordless session."""
    access_token = sign_in_with(authenticator).json()["access_token"]
    return APIClient(HTTP_AUTHORIZATION=f"Bearer {access_token}")


# Passwordless --------------------------------------------------------------
def test_a_passkey_alone_signs_in_at_level_two(authenticator, user):
    before = int(time.time())

    response = sign_in_with(authenticator)

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["user"]["id"] == str(user.pk)
    token = claims(body["access_token"])
    assert token["amr"] == ["pk"]
    assert token["aal"] == 2
    assert token["auth_time"] >= before
    assert (
        APIClient(HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
        .get(ME)
        .status_code
        == 200
    )
    passkey = user.authenticators.get()
    assert passkey.sign_count == 1 and passkey.last_used_at is not None
    user.refresh_from_db()
    assert user.last_login is not None
    event = user.auth_events.filter(type=AuthEvent.Type.SIGNIN_SUCCEEDED).first()
    assert event.detail["amr"] == ["pk"]


def test_a_passkey_sign_in_is_recent_enough_for_sensitive_changes(authenticator):
    tokens = sign_in_with(authenticator).json()
    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")

    assert client.get("/api/v1/users/me/export").status_code == 200


def test_signin_options_offer_no_credentials_and_are_not_cached():
    response = APIClient().post(
        "/api/v1/auth/webauthn/options", {"purpose": "signin"}, format="json"
    )

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    requested = response.json()["options"]
    assert requested["rpId"] == "id.example.com"
    assert requested["userVerification"] == "required"
    assert requested["allowCredentials"] == []


def test_a_used_challenge_is_refused(authenticator):
    client = APIClient()
    started = options(client, "signin")
    assert (
        post_assertion(
            client, started, authenticator.get(started["options"])
        ).status_code
        == 200
    )

    replay = post_assertion(client, started, authenticator.get(started["options"]))

    assert replay.status_code == 401
    assert replay.json() == REJECTED


def test_an_expired_challenge_is_refused(authenticator):
    with time_machine.travel("2030-01-01 12:00:00Z", tick=False) as clock:
        client = APIClient()
        started = options(client, "signin")
        clock.shift(timedelta(minutes=5, seconds=1))

        response = post_assertion(
            client, started, authenticator.get(started["options"])
        )

    assert response.status_code == 401


def test_a_challenge_of_another_purpose_is_refused(authenticator, user):
    client, _ = signed_in(UserFactory())
    mfa_started = options(APIClient(), "mfa", mfa_token=mfa_token_of(user))
    for started in (options(client, "reauth"), mfa_started):
        credential = authenticator.get({**started["options"], "allowCredentials": []})

        response = post_assertion(APIClient(), started, credential)

        assert response.status_code == 401


@pytest.mark.parametrize(
    "broken",
    [
        {"origin": "https://id.example.com.evil.test"},
        {"origin": "https://evil.test"},
        {"rp_id": "evil.test"},
        {"user_verified": False},
        {"user_present": False},
    ],
)
def test_an_assertion_from_the_wrong_place_or_without_the_user_is_refused(
    authenticator, broken
):
    response = sign_in_with(authenticator, get=broken)

    assert response.status_code == 401
    assert response.json() == REJECTED


def test_an_unknown_credential_gets_the_same_answer_as_a_bad_signature(
    authenticator,
):
    stranger = software_authenticator()
    stranger_user = UserFactory()
    client, _ = signed_in(stranger_user)
    registered(client, stranger)
    stranger_user.authenticators.all().delete()

    removed = sign_in_with(stranger)
    started = options(APIClient(), "signin")
    forged = authenticator.get(started["options"])
    forged["response"]["signature"] = stranger.get(started["options"])["response"][
        "signature"
    ]
    bad_signature = post_assertion(APIClient(), started, forged)

    assert removed.status_code == bad_signature.status_code == 401
    assert removed.json() == bad_signature.json() == REJECTED


def test_the_user_handle_must_be_the_credential_owners(authenticator):
    other = UserFactory()

    for handle in (other.pk.bytes, b""):
        response = sign_in_with(authenticator, get={"user_handle": handle})
        assert response.status_code == 401


def test_a_counter_going_backwards_is_refused_audited_and_announced(
    authenticator, user, mailoutbox
):
    assert sign_in_with(authenticator).status_code == 200
    assert sign_in_with(authenticator).status_code == 200
    sent = len(mailoutbox)

    response = sign_in_with(authenticator, get={"sign_count": 1})

    assert response.status_code == 401
    event = user.auth_events.get(type=AuthEvent.Type.PASSKEY_COUNTER_REFUSED)
    assert event.detail["stored_count"] == 2 and event.detail["presented_count"] == 1
    assert len(mailoutbox) == sent + 1
    assert "copied" in mailoutbox[-1].subject
    assert mailoutbox[-1].to == [user.email]
    assert user.authenticators.get().sign_count == 2


def test_an_equal_non_zero_counter_is_refused(authenticator, user):
    assert sign_in_with(authenticator).status_code == 200

    response = sign_in_with(authenticator, get={"sign_count": 1})

    assert response.status_code == 401
    assert user.auth_events.filter(type=AuthEvent.Type.PASSKEY_COUNTER_REFUSED).exists()


def test_a_synced_passkey_that_never_counts_keeps_working(user):
    synced = software_authenticator(counts=False, synced=True)
    client, _ = signed_in(user)
    registered(client, synced)

    for _ in range(3):
        assert sign_in_with(synced).status_code == 200
    stored = user.authenticators.get()
    assert stored.sign_count == 0
    assert stored.backup_eligible and stored.backup_state


def test_a_counter_that_drops_to_zero_is_refused(authenticator):
    assert sign_in_with(authenticator).status_code == 200

    assert sign_in_with(authenticator, get={"sign_count": 0}).status_code == 401


def test_an_inactive_account_is_403(authenticator, user):
    user.is_active = False
    user.save()

    response = sign_in_with(authenticator)

    assert response.status_code == 403
    assert response.json()["detail"] == "User account is inactive"


def test_an_unverified_account_is_403_when_verification_is_mandatory(settings):
    user = UserFactory()
    held = software_authenticator()
    client, _ = signed_in(user)
    registered(client, held)
    settings.EMAIL_VERIFICATION = "mandatory"
    user.email_verified = False
    user.save()

    response = sign_in_with(held)

    assert response.status_code == 403


def test_a_deleted_account_cannot_sign_in(authenticator, user):
    user.refresh_from_db()
    user.deleted_at = user.date_joined
    user.save()

    assert sign_in_with(authenticator).status_code == 401


def test_a_signin_challenge_asked_in_one_browser_does_not_finish_in_another(
    authenticator,
):
    from accounts import services

    started = services.webauthn_options(purpose="signin", session_id="web:one")
    credential = authenticator.get(started.options)

    with pytest.raises(PasskeyRejected):
        services.sign_in_with_passkey(
            challenge_token=started.challenge_token,
            credential=credential,
            session_id="web:two",
        )
    result = services.sign_in_with_passkey(
        challenge_token=started.challenge_token,
        credential=credential,
        session_id="web:one",
    )
    assert result.assurance.amr == ("pk",)


def test_malformed_signin_bodies_are_400_and_garbage_credentials_401():
    client = APIClient()
    started = options(client, "signin")

    assert client.post(PASSKEY_SIGNIN, {}, format="json").status_code == 400
    assert (
        client.post(
            PASSKEY_SIGNIN,
            {"challenge_token": started["challenge_token"], "credential": []},
            format="json",
        ).status_code
        == 400
    )
    garbage = post_assertion(client, started, {"id": "AAAA", "response": {"x": 1}})
    assert garbage.status_code == 401


# The second factor ---------------------------------------------------------
def test_a_passkey_is_the_second_factor_after_a_password(authenticator, user):
    mfa_token = mfa_token_of(user)

    signed = second_factor_with(authenticator, mfa_token)

    assert signed.status_code == 200, signed.content
    token = claims(signed.json()["access_token"])
    assert token["amr"] == ["pwd", "pk"] and token["aal"] == 2
    assert PendingStep.objects.get(purpose="mfa_signin").used_at is not None
    again = APIClient().post(
        "/api/v1/auth/webauthn/options",
        {"purpose": "mfa", "mfa_token": mfa_token},
        format="json",
    )
    assert again.status_code == 401


def test_the_202_answer_names_passkey_among_the_methods(authenticator, user):
    response = APIClient().post(
        SIGNIN, {"email": user.email, "password": PASSWORD}, format="json"
    )

    assert response.status_code == 202
    assert response.json()["methods"] == ["recovery_code", "passkey"]


def test_a_passkey_is_the_second_factor_after_an_emailed_code(
    authenticator, user, mailoutbox
):
    client = APIClient()
    code_token = client.post(
        "/api/v1/auth/signin/code/request", {"email": user.email}, format="json"
    ).json()["code_token"]
    pending = client.post(
        "/api/v1/auth/signin/code",
        {"code_token": code_token, "code": emailed_code(mailoutbox[-1])},
        format="json",
    )
    assert pending.status_code == 202

    signed = second_factor_with(authenticator, pending.json()["mfa_token"])

    assert signed.status_code == 200
    assert claims(signed.json()["access_token"])["amr"] == ["email", "pk"]


def test_mfa_options_list_only_the_accounts_passkeys(authenticator, user):
    other = software_authenticator()
    client, _ = signed_in(UserFactory())
    registered(client, other)

    started = options(APIClient(), "mfa", mfa_token=mfa_token_of(user))

    allowed = [item["id"] for item in started["options"]["allowCredentials"]]
    assert allowed == [user.authenticators.get().credential_id]


def test_mfa_options_do_not_use_up_the_mfa_token(authenticator, user):
    mfa_token = mfa_token_of(user)
    options(APIClient(), "mfa", mfa_token=mfa_token)
    options(APIClient(), "mfa", mfa_token=mfa_token)

    assert second_factor_with(authenticator, mfa_token).status_code == 200


def test_new_mfa_options_replace_the_earlier_challenge(authenticator, user):
    mfa_token = mfa_token_of(user)
    first = options(APIClient(), "mfa", mfa_token=mfa_token)
    options(APIClient(), "mfa", mfa_token=mfa_token)

    response = post_assertion(
        APIClient(),
        first,
        authenticator.get(first["options"]),
        path=SIGNIN_MFA,
        mfa_token=mfa_token,
    )

    assert response.status_code == 401


def test_an_mfa_challenge_of_another_sign_in_is_refused(authenticator, user):
    started = options(APIClient(), "mfa", mfa_token=mfa_token_of(user))
    other_mfa_token = mfa_token_of(user)

    response = post_assertion(
        APIClient(),
        started,
        authenticator.get(started["options"]),
        path=SIGNIN_MFA,
        mfa_token=other_mfa_token,
    )

    assert response.status_code == 401
    assert second_factor_with(authenticator, other_mfa_token).status_code == 200


def test_mfa_options_need_a_live_mfa_token(authenticator):
    response = APIClient().post(
        "/api/v1/auth/webauthn/options",
        {"purpose": "mfa", "mfa_token": "made-up"},
        format="json",
    )

    assert response.status_code == 401


def test_mfa_options_for_an_account_without_a_passkey_are_400(user):
    from accounts.tests.helpers import enable_totp

    enable_totp(user)

    response = APIClient().post(
        "/api/v1/auth/webauthn/options",
        {"purpose": "mfa", "mfa_token": mfa_token_of(user)},
        format="json",
    )

    assert response.status_code == 400


def test_another_users_passkey_is_a_wrong_answer_counted_like_a_wrong_code(
    authenticator, user
):
    thief = software_authenticator()
    client, _ = signed_in(UserFactory())
    registered(client, thief)
    mfa_token = mfa_token_of(user)

    answers = []
    for _ in range(5):
        started = options(APIClient(), "mfa", mfa_token=mfa_token)
        credential = thief.get({**started["options"], "allowCredentials": []})
        answers.append(
            post_assertion(
                APIClient(), started, credential, path=SIGNIN_MFA, mfa_token=mfa_token
            )
        )

    assert [a.status_code for a in answers] == [400] * 5
    assert list(answers[0].json()) == ["credential"]
    assert PendingStep.objects.get(purpose="mfa_signin").used_at is not None
    assert user.auth_events.filter(type=AuthEvent.Type.MFA_SIGNIN_FAILED).count() == 5
    assert (
        APIClient()
        .post(
            "/api/v1/auth/webauthn/options",
            {"purpose": "mfa", "mfa_token": mfa_token},
            format="json",
        )
        .status_code
        == 401
    )


def test_a_wrong_origin_second_factor_is_401(authenticator, user):
    response = second_factor_with(
        authenticator, mfa_token_of(user), get={"origin": "https://evil.test"}
    )

    assert response.status_code == 401


def test_an_mfa_body_with_both_a_code_and_a_passkey_is_400(authenticator, user):
    mfa_token = mfa_token_of(user)
    started = options(APIClient(), "mfa", mfa_token=mfa_token)

    response = post_assertion(
        APIClient(),
        started,
        authenticator.get(started["options"]),
        path=SIGNIN_MFA,
        mfa_token=mfa_token,
        code="123456",
    )

    assert response.status_code == 400


# Reauthentication ----------------------------------------------------------
def test_reauthenticating_with_a_passkey_makes_the_session_recent_again(
    authenticator, user
):
    with time_machine.travel("2030-01-01 12:00:00Z", tick=False) as clock:
        session = sign_in_with(authenticator).json()
        client = APIClient(HTTP_AUTHORIZATION=f"Bearer {session['access_token']}")
        passkey_id = user.authenticators.get().pk
        clock.shift(timedelta(seconds=stale_by()))
        assert client.delete(passkey_url(passkey_id)).status_code == 403

        response = reauthenticate_with(authenticator, client)

        assert response.status_code == 200
        assert response["Cache-Control"] == "no-store"
        token = claims(response.json()["access_token"])
        assert token["amr"] == ["pk"] and token["aal"] == 2
        client.credentials(
            HTTP_AUTHORIZATION=f"Bearer {response.json()['access_token']}"
        )
        assert client.delete(passkey_url(passkey_id)).status_code == 204


def test_reauthenticating_a_password_session_adds_pk(authenticator, user):
    tokens = second_factor_with(authenticator, mfa_token_of(user)).json()
    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")

    response = reauthenticate_with(authenticator, client)

    assert claims(response.json()["access_token"])["amr"] == ["pwd", "pk"]
    refreshed_tokens = refreshed(client, tokens)
    assert claims(refreshed_tokens["access_token"])["amr"] == ["pwd", "pk"]


def test_a_reauth_challenge_of_another_session_is_401(authenticator, user):
    first = passkey_session(authenticator)
    second = passkey_session(authenticator)
    started = options(first, "reauth")

    response = post_assertion(
        second,
        started,
        authenticator.get(started["options"]),
        path="/api/v1/auth/reauthenticate",
    )

    assert response.status_code == 401


def test_reauthenticating_with_someone_elses_passkey_is_400_credential(
    authenticator,
):
    thief = software_authenticator()
    client, _ = signed_in(UserFactory())
    registered(client, thief)
    victim = passkey_session(authenticator)

    started = options(victim, "reauth")
    response = post_assertion(
        victim,
        started,
        thief.get({**started["options"], "allowCredentials": []}),
        path="/api/v1/auth/reauthenticate",
    )

    assert response.status_code == 400
    assert list(response.json()) == ["credential"]


# Origins -------------------------------------------------------------------
def test_an_spa_under_the_rp_id_is_an_allowed_origin(settings, authenticator):
    settings.FRONTEND_URL = "https://app.id.example.com"

    response = sign_in_with(authenticator, get={"origin": settings.FRONTEND_URL})

    assert response.status_code == 200


def test_an_spa_outside_the_rp_id_is_not(settings, authenticator):
    settings.FRONTEND_URL = "https://app.example.org"

    response = sign_in_with(authenticator, get={"origin": settings.FRONTEND_URL})

    assert response.status_code == 401


COOKIE_TRANSPORT = {
    "HTTP_X_TOKEN_TRANSPORT": "cookie",
    "HTTP_ORIGIN": "https://id.example.com",
}


def test_a_passkey_sign_in_by_cookie_keeps_the_refresh_token_out_of_every_body(
    authenticator,
):
    spa = APIClient(**COOKIE_TRANSPORT)

    response = sign_in_with(authenticator, client=spa)

    assert response.status_code == 200, response.content
    assert "refresh_token" not in response.json()
    assert response.cookies["__Host-identity_refresh"]["httponly"] is True
    refreshed = spa.post(REFRESH, {}, format="json")
    assert refreshed.status_code == 200, refreshed.content
    assert "refresh_token" not in refreshed.json()


def test_a_passkey_sign_in_with_the_cookie_transport_from_another_origin_is_403(
    authenticator,
):
    spa = APIClient(HTTP_X_TOKEN_TRANSPORT="cookie", HTTP_ORIGIN="https://evil.test")
    sessions = TokenSession.objects.count()

    response = sign_in_with(authenticator, client=spa)

    assert response.status_code == 403
    assert "__Host-identity_refresh" not in response.cookies
    assert TokenSession.objects.count() == sessions


def test_a_passkey_second_factor_chooses_the_cookie_transport(user, authenticator):
    first = APIClient().post(
        SIGNIN, {"email": user.email, "password": PASSWORD}, format="json"
    )
    assert first.status_code == 202, first.content

    response = second_factor_with(
        authenticator, first.json()["mfa_token"], client=APIClient(**COOKIE_TRANSPORT)
    )

    assert response.status_code == 200, response.content
    assert "refresh_token" not in response.json()
    assert "__Host-identity_refresh" in response.cookies
