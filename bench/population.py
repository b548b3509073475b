"""The data a scenario needs, made before its clock starts: seeded accounts
(seed_users), a staff account, sessions with their tokens, deep cursors.

Runs inside the bench process with the service's own settings (the same
environment), so tokens minted here are the ones the service accepts.
"""

import json
import os
import random
import urllib.request

from bench.server import manage

PREFIX = "bench"
PASSWORD = "bench passphrase for load tests"  # noqa: S105 (benchmark data)
STAFF_USERNAME = "bench-staff"


def use_service_settings(env: dict[str, str]) -> None:
    """Configure Django in this process exactly as the service is configured."""
    # Imported here: Django reads the environment set below when it starts.
    import django

    os.environ.update(env)
    django.setup()


def seed(env: dict[str, str], count: int, password: str, log) -> str:
    """Make sure <prefix>0..<prefix>count-1 exist (the documented command)."""
    return manage(
        env,
        "seed_users",
        str(count),
        "--password",
        password,
        "--prefix",
        PREFIX,
        log=log,
    ).strip()


def usernames(count: int, population: int, seed_value: int = 8) -> list[str]:
    """`count` seeded usernames spread over the whole population (repeats when
    count exceeds it): a benchmark of five hot rows would only measure a cache."""
    rng = random.Random(seed_value)  # noqa: S311 (spread, not secrecy)
    return [f"{PREFIX}{rng.randrange(population)}" for _ in range(count)]


def mint_sessions(names: list[str], second_factor: bool = False):
    """Start one API session per name, as a sign-in does after the password check
    (with `second_factor`, after the password and a one-time code:
    services.start_api_session), and return their token pairs."""
    # Imported here (and below): models load only after use_service_settings.
    from django.db import transaction

    from accounts import services
    from accounts.assurance import OTP, PASSWORD, Assurance
    from accounts.models import User

    proved = (PASSWORD, OTP) if second_factor else (PASSWORD,)

    users = {u.username: u for u in User.objects.filter(username__in=set(names))}
    missing = set(names) - users.keys()
    if missing:
        raise RuntimeError(f"not seeded: {sorted(missing)[:5]}")
    client = services.Client(ip="127.0.0.1", user_agent="bench")
    pairs = []
    with transaction.atomic():
        for name in names:
            pairs.append(
                services.start_api_session(
                    user=users[name],
                    assurance=Assurance.proved(*proved),
                    client=client,
                )
            )
    return pairs


def staff_access_token() -> str:
    """An access token of a staff account (no usable password: tokens only),
    of a session that proved a second factor: with MFA_REQUIRED=staff (the
    default) a staff session without one may only set one up."""
    # Imported here: models load only after use_service_settings.
    from accounts.models import User

    staff = User.objects.filter(username=STAFF_USERNAME).first()
    if staff is None:
        staff = User.objects.create_user(
            STAFF_USERNAME,
            f"{STAFF_USERNAME}@example.com",
            None,
            is_staff=True,
            email_verified=True,
        )
    return mint_sessions([STAFF_USERNAME], second_factor=True)[0].access_token


def follow_next(base_url: str, path: str, token: str, pages: int) -> str:
    """The path of the page `pages` steps after `path` along the `next` links."""
    for _ in range(pages):
        request = urllib.request.Request(  # noqa: S310 (loopback http only)
            base_url + path, headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            body = json.load(response)
        if not body.get("next"):
            raise RuntimeError(f"{path}: no page after this one")
        path = body["next"].removeprefix(base_url)
    return path


def write_lines(path, lines) -> str:
    path.write_text("".join(f"{line}\n" for line in lines))
    return str(path)


def close_connections() -> None:
    """Before the database is dropped, this process must let go of it."""
    # Imported here: Django is configured only after use_service_settings.
    from django.db import connections

    connections.close_all()
