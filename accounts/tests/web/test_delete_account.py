from accounts.tests.helpers import bearer_client, field_errors


def test_delete_account_page_asks_for_the_current_password(signed_in_client):
    response = signed_in_client.get("/accounts/delete/")

    assert response.status_code == 200
    assert b'autocomplete="current-password"' in response.content


def test_delete_account_soft_deletes_signs_out_and_revokes_tokens(
    signed_in_client, user, password, tokens
):
    api = bearer_client(tokens["access_token"])

    response = signed_in_client.post("/accounts/delete/", {"password": password})

    user.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert user.deleted_at is not None
    assert not user.is_active
    assert "_auth_user_id" not in signed_in_client.session
    assert api.get("/api/v1/users/me").status_code == 401


def test_deleted_account_cannot_sign_in_again(signed_in_client, user, password):
    signed_in_client.post("/accounts/delete/", {"password": password})

    response = signed_in_client.post(
        "/accounts/signin/", {"username": user.email, "password": password}
    )

    assert response.context["form"].non_field_errors() == ["Invalid email or password"]


def test_delete_account_refuses_a_wrong_password_and_deletes_nothing(
    signed_in_client, user
):
    response = signed_in_client.post("/accounts/delete/", {"password": "wrong one"})

    user.refresh_from_db()
    assert response.status_code == 200
    assert field_errors(response, "password") == ["Incorrect password"]
    assert user.deleted_at is None
    assert signed_in_client.session["_auth_user_id"] == str(user.pk)


def test_delete_account_page_needs_a_signed_in_user(client, db):
    response = client.get("/accounts/delete/")

    assert response["Location"] == "/accounts/signin/?next=/accounts/delete/"
