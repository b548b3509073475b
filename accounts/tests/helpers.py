"""Plain functions and constants the tests share (fixtures live in conftest.py
files; anything a test module imports lives here).

Paths without a prefix are the JSON API's; `*_PAGE` are the server-rendered
pages under /accounts/; `ADMIN_*` are Django admin changelists.
"""

import re
import socket
import sys
import time
from pathlib import Path

import pyotp
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.contrib.messages import get_messages
from django.test import Client
from django_tasks_db.management.commands.db_worker import Worker
from rest_framework.test import APIClient

from accounts import assurance, codes, encryption, otp, services
from accounts.models import Authenticator, RecoveryCode, User
from accounts.tests.factories import PASSWORD

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# What a password sign-in proves, for sessions a test starts through the services
# (its auth_time is this module's import: not "recent" in a long run).
PROVED = assurance.Assurance.proved(assurance.PASSWORD)


def fresh_proof() -> assurance.Assurance:
    """A password sign-in made just now: recent, for services called directly."""
    return assurance.Assurance.proved(assurance.PASSWORD)


# JSON API ------------------------------------------------------------------
SIGNUP = "/api/v1/auth/signup"
SIGNIN = "/api/v1/auth/signin"
SIGNIN_MFA = "/api/v1/auth/signin/mfa"
REAUTHENTICATE = "/api/v1/auth/reauthenticate"
REFRESH = "/api/v1/auth/token/refresh"
SIGNOUT = "/api/v1/auth/signout"
SIGNOUT_ALL = "/api/v1/auth/signout-all"
SESSIONS = "/api/v1/auth/sessions"
FORGOT = "/api/v1/auth/forgot-password"
RESET = "/api/v1/auth/reset-password"
CHANGE = "/api/v1/auth/change-password"
VERIFY = "/api/v1/auth/verify-email"
RESEND = "/api/v1/auth/verify-email/resend"
ME = "/api/v1/users/me"
CONFIRM_EMAIL = "/api/v1/users/me/email/confirm"
CANCEL_EMAIL = "/api/v1/users/me/email/cancel"
PENDING_EMAIL = "/api/v1/users/me/email/pending"
USERS = "/api/v1/users"
HEALTH = "/api/v1/health"
READY = "/api/v1/health/ready"
MFA = "/api/v1/auth/mfa"
TOTP = "/api/v1/auth/mfa/totp"
TOTP_SETUP = "/api/v1/auth/mfa/totp/setup"
TOTP_CONFIRM = "/api/v1/auth/mfa/totp/confirm"
ENROL_CODE = "/api/v1/auth/mfa/enrol-code"
RECOVERY_CODES = "/api/v1/auth/mfa/recovery-codes"
JWKS = "/.well-known/jwks.json"
METRICS = "/metrics"

# Pages ---------------------------------------------------------------------
FORGOT_PAGE = "/accounts/password/forgot/"
MFA_PAGE = "/accounts/mfa/"
SIGNIN_PAGE = "/accounts/signin/"
SIGNIN_MFA_PAGE = "/accounts/signin/mfa/"
REAUTHENTICATE_PAGE = "/accounts/reauthenticate/"
RESEND_PAGE = "/accounts/verify-email/resend/"

# Admin ---------------------------------------------------------------------
ADMIN_USERS = "/admin/accounts/user/"
ADMIN_TIERS = "/admin/accounts/tier/"
ADMIN_EVENTS = "/admin/accounts/authevent/"
ADMIN_GROUPS = "/admin/auth/group/"
ADMIN_TASKS = "/admin/django_tasks_database/dbtaskresult/"

# An address of the documentation range, so per-address limits key on
# something that is neither the test client's default nor a real network.
CLIENT_IP = "198.51.100.7"


# Signing in through the API -------------------------------------------------
def sign_in(user, password: str = PASSWORD, *, client: APIClient | None = None):
    """The token response of a real sign-in as `user`: tests authenticate the
    way a client does, not with force_authenticate."""
    response = (client or APIClient()).post(
        SIGNIN, {"email": user.email, "password": password}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def bearer_client(access_token: str, **client_options) -> APIClient:
    client = APIClient(**client_options)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token}")
    return client


def signed_in(user, password: str = PASSWORD, **client_options):
    """(client, token response): one API session of `user`, the client holding
    its access token and whatever cookies the sign-in set."""
    client = APIClient(**client_options)
    tokens = sign_in(user, password, client=client)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    return client, tokens


def api_client_signed_in_as(user, password: str = PASSWORD) -> APIClient:
    client, _ = signed_in(user, password)
    return client


def get_me(client, access_token):
    return client.get(ME, HTTP_AUTHORIZATION=f"Bearer {access_token}")


def attempt_sign_in(identifier, password, *, client=None, ip=CLIENT_IP, **extra):
    """One sign-in attempt, whatever its outcome: through `client`, or else
    through a fresh client coming from `ip`."""
    client = client or APIClient(REMOTE_ADDR=ip)
    return client.post(
        SIGNIN, {"email": identifier, "password": password}, format="json", **extra
    )


# Sessions that proved a chosen assurance -------------------------------------
def password_only() -> assurance.Assurance:
    """What a password sign-in proves, as of now (recent)."""
    return assurance.Assurance.proved(assurance.PASSWORD)


def two_factors() -> assurance.Assurance:
    """What a password and an authenticator-app code prove, as of now (aal 2)."""
    return assurance.Assurance.proved(assurance.PASSWORD, assurance.OTP)


def api_client_proving(user, proved: assurance.Assurance) -> APIClient:
    """A bearer client of a new API session of `user` that proved `proved`
    (started through the service: a real session row and real tokens)."""
    pair = services.start_api_session(user=user, assurance=proved)
    client = bearer_client(pair.access_token)
    client.refresh_token = pair.refresh_token
    return client


def browser_proving(user, proved: assurance.Assurance) -> Client:
    """A browser signed in as `user` whose session proved `proved`, as the
    sign-in pages record it."""
    client = Client()
    client.force_login(user)
    session = client.session
    session[assurance.SESSION_KEY] = proved.claims()
    session.save()
    return client


def enable_totp_through_api(
    client: APIClient, tokens: dict
) -> tuple[str, list[str], dict]:
    """Set up and confirm TOTP through the API in the session of `tokens`
    (`client` holds its access token); (secret, recovery codes, the session's
    refreshed token response, now at level 2)."""
    secret = client.post(TOTP_SETUP, format="json").json()["secret"]
    confirmed = client.post(TOTP_CONFIRM, {"code": totp_code(secret)}, format="json")
    assert confirmed.status_code == 200, confirmed.content
    refreshed = APIClient().post(
        REFRESH, {"refresh_token": tokens["refresh_token"]}, format="json"
    )
    assert refreshed.status_code == 200, refreshed.content
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {refreshed.json()['access_token']}")
    return secret, confirmed.json().get("recovery_codes", []), refreshed.json()


# Second factors (made with the models: no enrolment endpoint needed) ---------
def enable_totp(user) -> str:
    """Give `user` a confirmed authenticator app; returns its base32 secret."""
    secret = otp.new_secret()
    Authenticator.objects.create(
        user=user, kind=Authenticator.Kind.TOTP, secret=encryption.encrypt(secret)
    )
    return secret


def add_recovery_codes(user) -> list[str]:
    """Give `user` a fresh set of recovery codes; returns them as shown."""
    plain = [
        codes.random_code(codes.RECOVERY_CODE_LENGTH)
        for _ in range(codes.RECOVERY_CODE_COUNT)
    ]
    RecoveryCode.objects.bulk_create(
        RecoveryCode(
            user=user,
            digest=codes.digest(code, purpose="recovery", subject=str(user.pk)),
        )
        for code in plain
    )
    return [codes.display(code) for code in plain]


def totp_code(secret: str, *, at: float | None = None, steps: int = 0) -> str:
    """The authenticator app's code for `secret` now (or at unix time `at`),
    `steps` time steps later."""
    totp = pyotp.TOTP(secret.replace(" ", ""), digits=otp.DIGITS, interval=otp.INTERVAL)
    moment = time.time() if at is None else at
    return totp.at(moment + steps * totp.interval)


def wrong_code(secret: str) -> str:
    """Six digits that are none of the codes accepted around now."""
    accepted = {
        totp_code(secret, at=time.time() + d * otp.INTERVAL) for d in (-1, 0, 1)
    }
    return next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in accepted)


# Signing in through the pages -------------------------------------------------
def browser_signed_in(user, password: str = PASSWORD, *, client=None, admin=False):
    """A test client signed in as `user` through the pages' sign-in form (or the
    admin's login): the session records a real, recent sign-in, as a browser's
    does (force_login records none)."""
    client = client or Client()
    path = "/admin/login/" if admin else "/accounts/signin/"
    response = client.post(path, {"username": user.username, "password": password})
    assert response.status_code == 302, response.content
    return client


def stale_by(seconds_past_window: int = 1) -> float:
    """How far to travel so that a sign-in made now is no longer recent."""
    return settings.REAUTH_WINDOW + seconds_past_window


# Emails ----------------------------------------------------------------------
def find_link(message, path) -> tuple[str, str, str] | None:
    """(link, uid, token) of the first `path` link in an email's text part."""
    match = re.search(rf"(\S+/{path}/([^/\s]+)/([^/\s]+))", message.body)
    if match is None:
        return None
    return match.group(1).rstrip("/"), match.group(2), match.group(3).rstrip("/")


def emailed_link(message, path) -> tuple[str, str, str]:
    parts = find_link(message, path)
    assert parts, message.body
    return parts


def email_change_token(mailoutbox, purpose: str, to: str | None = None) -> str:
    """The token of the last emailed email-change link ("confirm" or "cancel"),
    in a message to `to` if given."""
    for message in reversed(mailoutbox):
        if to is not None and message.to != [to]:
            continue
        match = re.search(rf"/accounts/email/{purpose}/([^/\s]+)/", message.body)
        if match:
            return match.group(1)
    raise AssertionError(f"no {purpose} link in {[m.body for m in mailoutbox]}")


def emailed_path(message) -> str:
    """The path of the site link in an email (SITE_URL stripped, for the client)."""
    match = re.search(re.escape(settings.SITE_URL) + r"(/[^\s\"'<>]+)", message.body)
    assert match, message.body
    return match.group(1)


# Pages -------------------------------------------------------------------------
def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def field_errors(response, field) -> list[str]:
    return response.context["form"].errors.get(field, [])


def shown_messages(response) -> list[str]:
    """The messages a followed admin response rendered."""
    return [str(m) for m in response.context["messages"]]


def admin_action(client, action, *users, **extra):
    """Run a user-changelist action on `users`, as the admin's form posts it."""
    return client.post(
        ADMIN_USERS,
        {"action": action, "_selected_action": [str(u.pk) for u in users], **extra},
        follow=True,
    )


def change_form_data(user: User, **changes) -> dict:
    """The admin change form of `user` as a browser posts it, with `changes`."""
    data = {
        "username": user.username,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "is_active": "on" if user.is_active else "",
        "email_verified": "on" if user.email_verified else "",
        "is_staff": "on" if user.is_staff else "",
        "is_superuser": "on" if user.is_superuser else "",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value != ""}


def stored_fields(user) -> dict:
    """Every column of `user` as the database holds it now."""
    return User.objects.filter(pk=user.pk).values().get()


def browser_sign_in(page, identifier: str, password: str) -> None:
    page.goto("/accounts/signin/")
    page.get_by_label("Email or username").fill(identifier)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


# Tasks -----------------------------------------------------------------------
DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def run_worker():
    """`manage.py db_worker --batch --no-startup-delay --interval 0`, in-process and
    without its signal handlers: runs every task that is due, then returns."""
    Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        excluded_queue_names=[],
    ).run()


# Back ends -------------------------------------------------------------------
# Nothing listens on port 1: connecting is refused at once.
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


def redis_cache(location: str) -> dict:
    """A CACHES setting for one Redis at `location`."""
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": location,
        }
    }


# Keys and processes ------------------------------------------------------------
def write_key_pair(directory: Path, name: str = "jwt", private_key=None):
    """(private, public) PEM file paths of a fresh key pair (RSA 2048 unless
    `private_key` is given), as strings, the way the settings hold them."""
    key = private_key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = directory / f"{name}-private.pem"
    public = directory / f"{name}-public.pem"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return str(private), str(public)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def gunicorn_command(port: int, *, workers: int, extra=()) -> list[str]:
    """The production server command (our gunicorn.conf.py) on `port`."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "identity_site.wsgi",
        "-c",
        "gunicorn.conf.py",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        *extra,
    ]


def emailed_code(message) -> str:
    """The one-time code an email carries (the emailed-code alphabet, on a line
    of its own)."""
    match = EMAILED_CODE_LINE.search(message.body)
    assert match, message.body
    return match.group(1)


EMAILED_CODE_LINE = re.compile(
    rf"^([{codes.ALPHABET}]{{{codes.EMAILED_CODE_LENGTH}}})$", re.M
)
