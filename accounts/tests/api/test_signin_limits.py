"""Sign-in limits against guessing: keyed on the account whatever its spelling,
on the client's network (IPv6 /64), failures-only slowdown per account, and the
device cookie that keeps the owner's own browser out of that slowdown."""

import ipaddress

import pytest
import time_machine
from django.core import signing
from rest_framework.test import APIClient

from accounts import devices
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.helpers import attempt_sign_in

START = "2026-06-01 12:00:20Z"


@pytest.fixture(autouse=True)
def _still_clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def spelling(name, n):
    """The n-th look-alike of an ASCII name: each letter plain or full-width,
    lower or upper case, chosen by the digits of n in base 4."""
    letters = []
    for ch in name:
        n, digit = divmod(n, 4)
        ch = ch.upper() if digit & 1 else ch
        letters.append(chr(ord(ch) + 0xFEE0) if digit & 2 else ch)
    return "".join(letters)


def from_addresses(count):
    """Distinct addresses, each in its own /24, so no per-address limit binds."""
    return [f"10.{i // 250}.{i % 250}.1" for i in range(count)]


@pytest.mark.django_db
def test_guesses_from_one_ipv6_64_spread_over_128s_are_throttled_long_before_150(
    settings,
):
    settings.THROTTLE_RATES = "signin=10/min"
    user = UserFactory(username="adalovelace")
    network = ipaddress.ip_network("2001:db8:1234:5678::/64")

    codes = [
        attempt_sign_in(
            spelling(user.username, i), f"guess {i}", ip=str(network[i + 1])
        ).status_code
        for i in range(150)
    ]

    assert codes.count(401) == 10
    assert codes[10:] == [429] * 140


@pytest.mark.django_db
def test_ipv6_addresses_in_different_64s_have_their_own_limits(settings):
    settings.THROTTLE_RATES = "signin=2/min"

    codes = [
        attempt_sign_in(
            f"nobody{i}@example.com", "x", ip=f"2001:db8:0:{i}::1"
        ).status_code
        for i in range(5)
    ]

    assert codes == [401] * 5


@pytest.mark.django_db
@pytest.mark.parametrize(
    "spellings",
    [
        ["ada", "ADA", "Ada", "ａｄａ", "ＡＤＡ", "ada "],
        ["ada@example.com", "ADA@EXAMPLE.COM", "Ada@Example.Com"],
    ],
)
def test_look_alike_spellings_of_one_account_share_its_failure_count(spellings):
    UserFactory(username="ada", email="ada@example.com")
    guesses = [spellings[i % len(spellings)] for i in range(10)]
    addresses = from_addresses(11)

    codes = [
        attempt_sign_in(name, "wrong password", ip=ip).status_code
        for name, ip in zip(guesses, addresses, strict=False)
    ]
    after = attempt_sign_in(spellings[-1], PASSWORD, ip=addresses[-1])

    assert codes == [401] * 10
    assert after.status_code == 429


@pytest.mark.django_db
def test_spellings_of_an_unknown_identifier_share_one_count_like_an_account():
    spellings = ["nobody", "NOBODY", "ｎｏｂｏｄｙ", "Nobody"]
    addresses = from_addresses(11)

    codes = [
        attempt_sign_in(spellings[i % 4], "wrong password", ip=addresses[i]).status_code
        for i in range(11)
    ]

    assert codes == [401] * 10 + [429]


@pytest.mark.django_db
@pytest.mark.parametrize("remote_addr", ["", "unix:/run/gunicorn.sock", "not-an-ip"])
def test_requests_from_an_unknown_address_share_one_bucket(settings, remote_addr):
    settings.THROTTLE_RATES = "signin=3/min"

    codes = [
        attempt_sign_in(f"nobody{i}@example.com", "x", ip=remote_addr).status_code
        for i in range(5)
    ]

    assert codes == [401, 401, 401, 429, 429]


@pytest.mark.django_db
def test_an_unparsable_forwarded_hop_counts_as_unknown(settings):
    settings.THROTTLE_RATES = "signin=2/min"
    settings.TRUSTED_PROXY_COUNT = 1
    codes = []
    for i in range(3):
        client = APIClient(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=f"junk{i}")
        codes.append(
            attempt_sign_in(f"nobody{i}@example.com", "x", client=client).status_code
        )

    assert codes == [401, 401, 429]


@pytest.mark.django_db
def test_two_addresses_at_eleven_a_minute_do_not_lock_the_owner_out_for_good(
    _still_clock,
):
    owner = UserFactory()
    for minute in range(3):
        _still_clock.shift(60 if minute else 0)
        for ip in ("203.0.113.1", "203.0.113.2"):
            for _ in range(11):
                attempt_sign_in(owner.email, "wrong password", ip=ip)

    slowed = attempt_sign_in(owner.email, PASSWORD, ip="192.0.2.50")
    _still_clock.shift(int(slowed["Retry-After"]))
    later = attempt_sign_in(owner.email, PASSWORD, ip="192.0.2.50")

    assert slowed.status_code == 429
    assert int(slowed["Retry-After"]) <= 15 * 60
    assert later.status_code == 200


@pytest.mark.django_db
def test_the_owner_s_browser_with_its_device_cookie_is_not_slowed():
    owner = UserFactory()
    browser = APIClient(REMOTE_ADDR="192.0.2.50")
    assert attempt_sign_in(owner.email, PASSWORD, client=browser).status_code == 200
    for ip in from_addresses(30):
        attempt_sign_in(owner.email, "wrong password", ip=ip)

    stranger = attempt_sign_in(owner.email, PASSWORD, ip="192.0.2.51")
    own_browser = attempt_sign_in(owner.email, PASSWORD, client=browser)

    assert stranger.status_code == 429
    assert own_browser.status_code == 200


@pytest.mark.django_db
def test_signin_sets_a_long_lived_http_only_device_cookie():
    owner = UserFactory()

    response = attempt_sign_in(owner.email, PASSWORD)

    cookie = response.cookies[devices.COOKIE_NAME]
    assert cookie["httponly"]
    assert cookie["secure"]  # SITE_URL is https in the tests
    assert cookie["samesite"] == "Lax"
    assert int(cookie["max-age"]) >= 180 * 86400
    assert devices.vouches_for(cookie.value, owner)


@pytest.mark.django_db
def test_a_failed_signin_sets_no_device_cookie():
    owner = UserFactory()

    response = attempt_sign_in(owner.email, "wrong password")

    assert devices.COOKIE_NAME not in response.cookies


@pytest.mark.django_db
def test_a_device_cookie_of_another_account_does_not_exempt_from_the_slowdown():
    owner, other = UserFactory(), UserFactory()
    browser = APIClient(REMOTE_ADDR="192.0.2.50")
    assert attempt_sign_in(other.email, PASSWORD, client=browser).status_code == 200
    for ip in from_addresses(10):
        attempt_sign_in(owner.email, "wrong password", ip=ip)

    response = attempt_sign_in(owner.email, PASSWORD, client=browser)

    assert response.status_code == 429


@pytest.mark.django_db
@pytest.mark.parametrize(
    "forge",
    [
        lambda user: str(user.pk),
        lambda user: signing.dumps(str(user.pk), salt="another purpose"),
        lambda user: signing.dumps(str(user.pk), key="not the secret", salt="x"),
        lambda user: devices.issue(user)[:-2] + "xx",
    ],
)
def test_a_forged_device_cookie_does_not_exempt_from_the_slowdown(forge):
    owner = UserFactory()
    for ip in from_addresses(10):
        attempt_sign_in(owner.email, "wrong password", ip=ip)
    browser = APIClient(REMOTE_ADDR="192.0.2.50")
    browser.cookies[devices.COOKIE_NAME] = forge(owner)

    response = attempt_sign_in(owner.email, PASSWORD, client=browser)

    assert response.status_code == 429


@pytest.mark.django_db
@pytest.mark.parametrize(
    "backend",
    [
        "django.core.cache.backends.locmem.LocMemCache",
        # Without Redis the shared cache is the database: counts go to rows.
        "django.core.cache.backends.db.DatabaseCache",
    ],
)
def test_retry_after_doubles_with_continued_failures_up_to_15_minutes(
    _still_clock, settings, backend
):
    settings.CACHES = {"default": {"BACKEND": backend, "LOCATION": "identity_cache"}}
    owner = UserFactory()
    addresses = iter(from_addresses(100))
    for _ in range(10):
        assert (
            attempt_sign_in(owner.email, "wrong", ip=next(addresses)).status_code == 401
        )

    waits = []
    for _ in range(7):
        refused = attempt_sign_in(owner.email, "wrong", ip=next(addresses))
        assert refused.status_code == 429
        waits.append(int(refused["Retry-After"]))
        _still_clock.shift(waits[-1])
        assert (
            attempt_sign_in(owner.email, "wrong", ip=next(addresses)).status_code == 401
        )

    assert waits == [60, 120, 240, 480, 900, 900, 900]


@pytest.mark.django_db
def test_the_slowdown_counts_failures_only_not_successful_signins():
    owner = UserFactory()

    codes = [
        attempt_sign_in(owner.email, PASSWORD, ip=ip).status_code
        for ip in from_addresses(15)
    ]

    assert codes == [200] * 15


@pytest.mark.django_db
def test_the_failure_count_is_forgotten_after_a_quiet_quarter_hour(_still_clock):
    owner = UserFactory()
    for ip in from_addresses(9):
        attempt_sign_in(owner.email, "wrong password", ip=ip)
    _still_clock.shift(15 * 60 + 1)

    codes = [
        attempt_sign_in(owner.email, "wrong password", ip=ip).status_code
        for ip in from_addresses(9)
    ]

    assert codes == [401] * 9


@pytest.mark.django_db
def test_the_slowdown_is_the_same_for_an_account_that_does_not_exist():
    UserFactory(email="real@example.com")
    addresses = from_addresses(22)

    real = [
        attempt_sign_in("real@example.com", "x", ip=ip).status_code
        for ip in addresses[:11]
    ]
    ghost = [
        attempt_sign_in("ghost@example.com", "x", ip=ip).status_code
        for ip in addresses[11:]
    ]

    assert real == ghost == [401] * 10 + [429]


@pytest.mark.django_db
def test_throttle_rates_off_turns_the_account_slowdown_off(settings):
    settings.THROTTLE_RATES = "off"
    owner = UserFactory()
    for ip in from_addresses(20):
        attempt_sign_in(owner.email, "wrong password", ip=ip)

    assert attempt_sign_in(owner.email, PASSWORD, ip="192.0.2.1").status_code == 200
