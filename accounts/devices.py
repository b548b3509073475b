"""The `identity_device` cookie: a signed note that this browser once signed in
to an account, so the per-account slowdown does not slow its owner."""

from django.core import signing

COOKIE_NAME = "identity_device"
SALT = "accounts.devices"
MAX_AGE = 365 * 86400


def issue(user) -> str:
    return signing.dumps({"account": str(user.pk)}, salt=SALT, compress=False)


def vouches_for(token: str | None, user) -> bool:
    if not token or user is None:
        return False
    try:
        payload = signing.loads(token, salt=SALT, max_age=MAX_AGE)
    except signing.BadSignature:
        return False
    return isinstance(payload, dict) and payload.get("account") == str(user.pk)
