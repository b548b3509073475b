from django.contrib.auth import hashers
from django.utils.module_loading import import_string

# The formats a stored password hash may be in, strongest first. New passwords
# get the first (settings.PASSWORD_HASHERS is this list); the others verify
# hashes imported from other systems (services.user_import), each re-hashed with
# the first at its next sign-in.
ACCEPTED_HASHERS = (
    "accounts.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.BCryptPasswordHasher",
)


class Argon2PasswordHasher(hashers.Argon2PasswordHasher):
    """Argon2id at OWASP's recommended minimum (m=19 MiB, t=2, p=1).

    Django's defaults (m=100 MiB, t=2, p=8) cost several times more per sign-in for
    little extra resistance at this scale; the README states the measured time.
    Hashes made with other parameters still verify and are re-hashed on sign-in.
    """

    time_cost = 2
    memory_cost = 19 * 1024
    parallelism = 1


def accepted_algorithms() -> frozenset[str]:
    """The algorithm names (a hash's prefix) of ACCEPTED_HASHERS. Read from the
    list, not from the PASSWORD_HASHERS setting, which a test run may extend
    with a fast hasher that production never accepts."""
    return frozenset(import_string(path).algorithm for path in ACCEPTED_HASHERS)
