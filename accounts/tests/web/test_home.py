import re

from accounts.tests.factories import UserFactory


def test_home_offers_sign_in_and_sign_up_to_visitors(client, db):
    response = client.get("/")

    assert response.status_code == 200
    assert b'href="/accounts/signin/"' in response.content
    assert b'href="/accounts/signup/"' in response.content


def test_home_shows_the_signed_in_users_summary(signed_in_client, user):
    response = signed_in_client.get("/")

    assert response.status_code == 200
    assert user.username.encode() in response.content
    assert user.email.encode() in response.content
    assert b'href="/accounts/signup/"' not in response.content
    assert b'href="/admin/"' not in response.content


def test_home_links_staff_to_the_admin(client, db):
    client.force_login(UserFactory(is_staff=True))

    response = client.get("/")

    assert b'href="/admin/"' in response.content


def test_pages_link_the_stylesheet_and_carry_no_inline_style_or_script(client, db):
    response = client.get("/accounts/signin/")

    html = response.content.decode()
    assert '<link rel="stylesheet" href="/static/css/site.css">' in html
    # Scripts only as files of ours (the passkey script): none inline.
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts == [(' src="/static/js/passkeys.js" defer', "")]
    assert "style=" not in html
    assert "<style" not in html
