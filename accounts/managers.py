import unicodedata

from django.contrib.auth.base_user import BaseUserManager
from django.db.models import Q
from django.db.models.functions import Lower
from django.db.models.lookups import Exact


def normalize_username(username: str) -> str:
    """NFKC-fold so that look-alike compatibility forms ("ﬁle", "ｆｉｌｅ") collide
    with their plain spelling under the case-insensitive unique constraint."""
    return unicodedata.normalize("NFKC", username or "").strip()


def normalize_email(email: str) -> str:
    # The whole address is lowercased: every lookup ignores case, so storing one
    # canonical form keeps the unique index, the login lookup and emails in step.
    return (email or "").strip().lower()


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, username):
        return self.live().get(
            Exact(Lower("username"), normalize_username(username).lower())
        )

    def live(self):
        """Accounts that exist to the outside: not soft-deleted."""
        return self.filter(deleted_at__isnull=True)

    def with_email(self, email: str):
        """Lookup by address ignoring case, through the Lower(email) unique index."""
        if "\x00" in (email or ""):  # PostgreSQL text cannot hold NUL: no match
            return self.none()
        return self.filter(Exact(Lower("email"), normalize_email(email)))

    def with_username(self, username: str):
        if "\x00" in (username or ""):
            return self.none()
        return self.filter(
            Exact(Lower("username"), normalize_username(username).lower())
        )

    def for_login(self, identifier: str):
        """The live account an email-or-username identifier names, or None.

        An email match wins over a username that happens to look like an email.
        Soft-deleted accounts are left out: to the outside they do not exist.
        """
        if "\x00" in (identifier or ""):  # PostgreSQL text cannot hold NUL
            return None
        email = normalize_email(identifier)
        username = normalize_username(identifier).lower()
        match = Q(Exact(Lower("username"), username))
        if "@" in identifier:  # without one it cannot be an address: one probe
            match |= Q(Exact(Lower("email"), email))
        matches = list(self.live().filter(match)[:2])
        matches.sort(key=lambda user: user.email != email)
        return matches[0] if matches else None

    def _create_user(self, username, email, password, **extra_fields):
        if not username:
            raise ValueError("A username is required.")
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(username=username, email=email, **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, username, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(username, email, password, **extra_fields)

    def create_superuser(self, username, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        extra_fields.setdefault("email_verified", True)
        if (
            extra_fields["is_staff"] is not True
            or extra_fields["is_superuser"] is not True
        ):
            raise ValueError("A superuser must have is_staff and is_superuser set.")
        return self._create_user(username, email, password, **extra_fields)
