from accounts.models import User

NEW_PASSWORD = "a new and long enough passphrase"


def signup_data(**overrides):
    return {
        "email": "grace@example.com",
        "username": "grace",
        "password": NEW_PASSWORD,
        "password_confirmation": NEW_PASSWORD,
        **overrides,
    }


def test_signup_page_renders_the_form_with_autocomplete_hints(client, db):
    response = client.get("/accounts/signup/")

    html = response.content.decode()
    assert response.status_code == 200
    assert 'autocomplete="email"' in html
    assert 'autocomplete="username"' in html
    assert html.count('autocomplete="new-password"') == 2
    assert "at least 12 characters" in html  # Django's password help text


def test_signup_redirects_a_signed_in_user_home(signed_in_client):
    response = signed_in_client.get("/accounts/signup/")

    assert response.status_code == 302
    assert response["Location"] == "/"


def test_signup_creates_the_account_and_signs_in(client, db, mailoutbox):
    response = client.post("/accounts/signup/", signup_data())

    assert response.status_code == 302
    assert response["Location"] == "/"
    user = User.objects.get(username="grace")
    assert user.email == "grace@example.com"
    assert str(client.session["_auth_user_id"]) == str(user.pk)
    assert [m.to for m in mailoutbox] == [["grace@example.com"]]


def test_signup_with_a_taken_email_keeps_the_typed_username(client, user):
    response = client.post(
        "/accounts/signup/", signup_data(email=user.email.upper(), username="grace")
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert response.context["form"].errors["email"] == ["Email already registered"]
    assert 'value="grace"' in html
    assert NEW_PASSWORD not in html
    assert not User.objects.filter(username="grace").exists()
    assert "_auth_user_id" not in client.session


def test_signup_with_a_taken_username_names_the_username_field(client, user):
    response = client.post(
        "/accounts/signup/", signup_data(username=user.username.upper())
    )

    assert response.context["form"].errors["username"] == ["Username already taken"]
    assert User.objects.count() == 1


def test_signup_refuses_a_weak_password_with_djangos_message(client, db):
    response = client.post(
        "/accounts/signup/",
        signup_data(password="short", password_confirmation="short"),
    )

    errors = response.context["form"].errors["password"]
    assert response.status_code == 200
    assert any("too short" in error for error in errors)
    assert not User.objects.exists()


def test_signup_refuses_mismatched_passwords(client, db):
    response = client.post(
        "/accounts/signup/", signup_data(password_confirmation=NEW_PASSWORD + "!")
    )

    assert response.context["form"].errors["password_confirmation"] == [
        "The two passwords do not match."
    ]
    assert not User.objects.exists()


def test_signup_refuses_a_malformed_email(client, db):
    response = client.post("/accounts/signup/", signup_data(email="not-an-email"))

    assert "email" in response.context["form"].errors
    assert not User.objects.exists()


def test_signup_links_each_error_to_its_field(client, user):
    response = client.post("/accounts/signup/", signup_data(email=user.email))

    html = response.content.decode()
    assert 'id="id_email_error"' in html
    assert 'aria-describedby="id_email_error"' in html
    assert 'aria-invalid="true"' in html


def test_signup_with_mandatory_verification_does_not_sign_in(
    client, db, settings, mailoutbox
):
    settings.EMAIL_VERIFICATION = "mandatory"

    response = client.post("/accounts/signup/", signup_data(), follow=True)

    assert response.redirect_chain[-1][0] == "/accounts/signup/done/"
    assert b"Check your email" in response.content
    assert "_auth_user_id" not in client.session
    assert User.objects.filter(username="grace", email_verified=False).exists()
    assert len(mailoutbox) == 1
