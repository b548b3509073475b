import pytest

from accounts.models import User

POST_URLS = [
    "/accounts/signup/",
    "/accounts/signin/",
    "/accounts/signout/",
    "/accounts/password/forgot/",
    "/accounts/password/reset/MQ/set-password/",
    "/accounts/password/change/",
    "/accounts/profile/",
    "/accounts/delete/",
    "/accounts/verify-email/MQ/abc-def/",
    "/accounts/verify-email/resend/",
    "/accounts/security/sessions/00000000-0000-0000-0000-000000000000/revoke/",
    "/accounts/security/sign-out-everywhere/",
]


@pytest.mark.parametrize("url", POST_URLS)
def test_post_without_the_csrf_token_is_refused(csrf_client, user, password, url):
    csrf_client.force_login(user)

    response = csrf_client.post(url, {"password": password, "email": user.email})

    assert response.status_code == 403


def test_signout_without_the_csrf_token_keeps_the_session(csrf_client, user):
    csrf_client.force_login(user)

    csrf_client.post("/accounts/signout/")

    assert csrf_client.session["_auth_user_id"] == str(user.pk)


def test_delete_without_the_csrf_token_deletes_nothing(csrf_client, user, password):
    csrf_client.force_login(user)

    csrf_client.post("/accounts/delete/", {"password": password})

    assert User.objects.get(pk=user.pk).deleted_at is None


def test_form_with_the_csrf_token_is_accepted(csrf_client, user, password):
    page = csrf_client.get("/accounts/signin/")
    token = page.context["csrf_token"]

    response = csrf_client.post(
        "/accounts/signin/",
        {"username": user.email, "password": password, "csrfmiddlewaretoken": token},
    )

    assert response.status_code == 302
