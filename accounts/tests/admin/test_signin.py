import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from accounts import devices
from accounts.tests.factories import UserFactory


def admin_signin(client, user, password):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": user.email, "password": password, "next": "/admin/"},
    )


def test_admin_signin_lets_active_staff_in(client, db, password):
    staff = UserFactory(is_staff=True)

    response = admin_signin(client, staff, password)

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ({"is_active": False}, "User account is inactive"),
        (
            {"is_active": False, "deleted_at": timezone.now()},
            "Invalid email or password",
        ),
        ({"is_staff": False}, "This account has no access to the admin."),
    ],
)
def test_admin_signin_refuses_inactive_deleted_and_non_staff_accounts(
    client, db, password, state, message
):
    account = UserFactory(**{"is_staff": True, **state})

    response = admin_signin(client, account, password)

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [message]
    assert "_auth_user_id" not in client.session


def test_admin_signin_refuses_a_wrong_password(client, db):
    staff = UserFactory(is_staff=True)

    response = admin_signin(client, staff, "wrong password")

    assert response.context["form"].non_field_errors() == ["Invalid email or password"]


@time_machine.travel("2026-06-01 12:00:20Z", tick=False)
def test_strangers_guessing_do_not_lock_a_staff_member_s_browser_out_of_the_admin(
    db, password
):
    staff = UserFactory(is_staff=True)
    browser = Client(REMOTE_ADDR="192.0.2.50")
    first = admin_signin(browser, staff, password)
    browser.post("/admin/logout/")
    for ip in ("203.0.113.1", "203.0.113.2"):
        for _ in range(11):
            admin_signin(Client(REMOTE_ADDR=ip), staff, "wrong password")

    stranger = admin_signin(Client(REMOTE_ADDR="192.0.2.51"), staff, password)
    own_browser = admin_signin(browser, staff, password)

    assert devices.vouches_for(first.cookies[devices.COOKIE_NAME].value, staff)
    assert "_auth_user_id" not in stranger.wsgi_request.session
    assert (
        stranger.context["form"].non_field_errors()[0].startswith("Too many attempts")
    )
    assert own_browser.status_code == 302
    assert browser.session["_auth_user_id"] == str(staff.pk)
