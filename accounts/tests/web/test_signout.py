from accounts.models import AuthEvent


def test_signout_signs_out_and_goes_home(signed_in_client):
    response = signed_in_client.post("/accounts/signout/")

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert "_auth_user_id" not in signed_in_client.session


def test_signout_by_get_is_refused_and_keeps_the_session(signed_in_client, user):
    response = signed_in_client.get("/accounts/signout/")

    assert response.status_code == 405
    assert signed_in_client.session["_auth_user_id"] == str(user.pk)


def test_signed_in_pages_carry_a_signout_form_not_a_link(signed_in_client):
    response = signed_in_client.get("/")

    html = response.content.decode()
    assert 'method="post" action="/accounts/signout/"' in html
    assert 'href="/accounts/signout/"' not in html


def test_signout_is_in_the_audit_trail(signed_in_client, user):
    signed_in_client.post("/accounts/signout/")

    (event,) = AuthEvent.objects.filter(user=user, type=AuthEvent.Type.SIGNOUT)
    assert event.detail == {"door": "web"}
    signed_in_client.force_login(user)
    labels = [
        e.label for e in signed_in_client.get("/accounts/security/").context["events"]
    ]
    assert labels[0] == "Signed out"


def test_signout_when_already_signed_out_records_nothing(client, db):
    response = client.post("/accounts/signout/")

    assert response.status_code == 302
    assert not AuthEvent.objects.filter(type=AuthEvent.Type.SIGNOUT).exists()
