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
