"""Look-alike identifiers: one mailbox, one account; one visible name, one account."""

import pytest
from django.db import IntegrityError, transaction

from accounts.models import User
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.helpers import ME, SIGNIN, SIGNUP, USERS, api_client_signed_in_as

pytestmark = pytest.mark.django_db


FULLWIDTH_E = "a@\uff45xample.com"  # "ｅxample.com"
SOFT_HYPHEN = "a@exam\u00adple.com"
CYRILLIC_ADMIN = "\u0430dmin"  # Cyrillic small a, then "dmin"


def signup(api_client, **overrides):
    body = {"email": "new@example.com", "username": "newbie", "password": PASSWORD}
    return api_client.post(SIGNUP, {**body, **overrides}, format="json")


@pytest.mark.parametrize("email", [FULLWIDTH_E, SOFT_HYPHEN, "A@EXAMPLE.COM"])
def test_signup_with_a_look_alike_domain_of_a_taken_address_is_refused(
    api_client, email
):
    UserFactory(email="a@example.com")

    response = signup(api_client, email=email)

    assert response.status_code == 400
    assert response.json() == {"email": ["Email already registered"]}
    assert User.objects.count() == 1


def test_signup_stores_the_domain_in_its_ascii_form(api_client):
    response = signup(api_client, email="Ada@B\u00fccher.Example")

    assert response.status_code == 201
    assert response.json()["user"]["email"] == "ada@xn--bcher-kva.example"
    assert User.objects.get().email == "ada@xn--bcher-kva.example"


def test_signup_folds_a_fullwidth_domain_to_its_plain_spelling(api_client):
    response = signup(api_client, email=FULLWIDTH_E)

    assert response.status_code == 201
    assert User.objects.get().email == "a@example.com"


@pytest.mark.parametrize(
    "email",
    ["a@xn--zz.example", "a@exa\u0378mple.com", "a@xn--a.xn--b.com"],
    ids=["bad-punycode", "unassigned-code-point", "bad-labels"],
)
def test_signup_with_an_undecodable_domain_is_a_field_error(api_client, email):
    response = signup(api_client, email=email)

    assert response.status_code == 400
    assert response.json() == {"email": ["Enter a valid email address."]}
    assert not User.objects.exists()


def test_signin_with_a_look_alike_domain_reaches_the_account(api_client):
    UserFactory(email="a@example.com")

    for spelling in (FULLWIDTH_E, SOFT_HYPHEN):
        response = api_client.post(
            SIGNIN, {"email": spelling, "password": PASSWORD}, format="json"
        )

        assert response.status_code == 200, spelling
        assert response.json()["user"]["email"] == "a@example.com"


def test_signup_with_a_confusable_username_is_taken(api_client):
    UserFactory(username="admin")

    response = signup(api_client, username=CYRILLIC_ADMIN)

    assert response.status_code == 400
    assert response.json() == {"username": ["Username already taken"]}
    assert User.objects.count() == 1


def test_signup_with_a_mixed_script_confusable_in_another_case_is_taken(api_client):
    UserFactory(username="Paypal")

    # Cyrillic capital Р and small а, Latin "yp", Cyrillic а, Latin "l".
    response = signup(api_client, username="\u0420\u0430yp\u0430l")

    assert response.status_code == 400
    assert response.json() == {"username": ["Username already taken"]}


def test_signup_with_a_legitimately_different_username_is_allowed(api_client):
    UserFactory(username="admin")

    response = signup(api_client, username="admins")

    assert response.status_code == 201


@pytest.mark.parametrize(("first", "second"), [("\u00c4dmin", "\u00e4dmin")])
def test_usernames_differing_in_non_ascii_case_collide(api_client, first, second):
    UserFactory(username=first)

    response = signup(api_client, username=second)

    assert response.status_code == 400
    assert response.json() == {"username": ["Username already taken"]}


def test_the_database_refuses_non_ascii_case_and_confusable_twins():
    UserFactory(username="\u00c4dmin", email="one@example.com")
    UserFactory(username="admin", email="two@example.com")

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username="\u00e4dmin", email="three@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username=CYRILLIC_ADMIN, email="four@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username="someone", email=SOFT_HYPHEN.replace("a@", "one@"))


def test_signin_as_one_non_ascii_case_reaches_only_that_account(api_client):
    owner = UserFactory(username="\u00c4dmin")

    response = api_client.post(
        SIGNIN, {"username": "\u00e4DMIN", "password": PASSWORD}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["user"]["id"] == str(owner.pk)


def test_profile_update_to_a_look_alike_identifier_is_refused(api_client, mailoutbox):
    UserFactory(username="admin", email="a@example.com")
    me = UserFactory(username="ada", email="ada@example.com")
    client = api_client_signed_in_as(me)

    by_name = client.patch(ME, {"username": CYRILLIC_ADMIN}, format="json")
    by_mail = client.patch(ME, {"email": SOFT_HYPHEN}, format="json")

    assert by_name.status_code == 400
    assert by_name.json() == {"username": ["Username already taken"]}
    # Changes v1: an address only becomes pending (the answer reveals nothing);
    # the look-alike is recognised as taken, so its mailbox gets a notice and
    # no confirmation link.
    assert by_mail.status_code == 200
    (to_new,) = [m for m in mailoutbox if m.to != ["ada@example.com"]]
    assert "already belongs to another" in to_new.body
    assert "/accounts/email/confirm/" not in to_new.body
    me.refresh_from_db()
    assert (me.username, me.email) == ("ada", "ada@example.com")


def test_profile_update_to_an_undecodable_domain_is_a_field_error(api_client):
    me = UserFactory(username="ada", email="ada@example.com")
    client = api_client_signed_in_as(me)

    response = client.patch(ME, {"email": "ada@xn--zz.example"}, format="json")

    assert response.status_code == 400
    assert response.json() == {"email": ["Enter a valid email address."]}


def test_staff_create_with_look_alike_identifiers_is_refused():
    UserFactory(username="admin", email="a@example.com")
    staff = api_client_signed_in_as(UserFactory(is_staff=True))

    response = staff.post(
        USERS, {"email": FULLWIDTH_E, "username": CYRILLIC_ADMIN}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {
        "email": ["Email already registered"],
        "username": ["Username already taken"],
    }
    assert User.objects.count() == 2
