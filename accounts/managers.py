from django.contrib.auth.base_user import BaseUserManager
from django.db.models import Q, QuerySet

from accounts.identifiers import (
    email_key,
    normalize_email,
    normalize_username,
    username_key,
    username_skeleton,
)

__all__ = ["UserManager", "normalize_email", "normalize_username"]


class UserQuerySet(QuerySet):
    def live(self):
        """Accounts that exist to the outside: not soft-deleted."""
        return self.filter(deleted_at__isnull=True)

    def usable(self):
        """Accounts that may sign in, receive links and hold sessions: active
        and not soft-deleted (the queryset form of User.is_usable)."""
        return self.live().filter(is_active=True)

    def with_email(self, email: str):
        """Lookup by address, any spelling of it (case, IDNA forms of the domain),
        through the email_key unique index."""
        if "\x00" in (email or ""):  # PostgreSQL text cannot hold NUL: no match
            return self.none()
        return self.filter(email_key=email_key(email))

    def holding(self, *, emails=(), usernames=()):
        """Accounts holding any of these addresses or names: an address in any
        spelling; a name in any spelling, or one that only looks the same
        (confusable skeleton: impersonation). Chain live() for "taken"."""
        # PostgreSQL text cannot hold NUL: such a value matches nothing.
        emails = [e for e in emails if e and "\x00" not in e]
        usernames = [u for u in usernames if u and "\x00" not in u]
        match = Q(pk__in=[])
        if emails:
            match |= Q(email_key__in=[email_key(e) for e in emails])
        if usernames:
            match |= Q(username_key__in=[username_key(u) for u in usernames])
            match |= Q(username_skeleton__in=[username_skeleton(u) for u in usernames])
        return self.filter(match)


class UserManager(BaseUserManager.from_queryset(UserQuerySet)):
    use_in_migrations = True

    def get_by_natural_key(self, username):
        return self.live().get(username_key=username_key(username))

    def for_login(self, identifier: str):
        """The live account an email-or-username identifier names, or None.

        An email match wins over a username that happens to look like an email.
        Soft-deleted accounts are left out: to the outside they do not exist.
        """
        if "\x00" in (identifier or ""):  # PostgreSQL text cannot hold NUL
            return None
        # Through the key columns, so every spelling that names an account (case,
        # width, the domain's IDNA forms) reaches that one account, and the same
        # one on SQLite as on PostgreSQL.
        email = email_key(identifier)
        match = Q(username_key=username_key(identifier))
        if "@" in identifier:  # without one it cannot be an address: one probe
            match |= Q(email_key=email)
        matches = list(self.live().filter(match)[:2])
        matches.sort(key=lambda user: user.email_key != email)
        return matches[0] if matches else None

    def bulk_create(self, objs, *args, **kwargs):
        # bulk_create skips save(): canonical forms and keys are set here, or a
        # bulk insert (imports, seeding) would slip past the unique keys.
        objs = list(objs)
        for user in objs:
            user.username = normalize_username(user.username)
            user.email = normalize_email(user.email)
            user._set_keys()
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs, fields, *args, **kwargs):
        objs = list(objs)
        fields = list(fields)
        if "username" in fields or "email" in fields:
            for user in objs:
                user.username = normalize_username(user.username)
                user.email = normalize_email(user.email)
                user._set_keys()
            if "username" in fields:
                fields += ["username_key", "username_skeleton"]
            if "email" in fields:
                fields.append("email_key")
        return super().bulk_update(objs, fields, *args, **kwargs)

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
