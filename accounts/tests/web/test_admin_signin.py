import pytest
from django.utils import timezone

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
