"""`manage.py seed_users N`: <prefix>0..<prefix>N-1 with one shared password,
as the service's own seed_users does (one hash made once: PBKDF2 with a million
iterations per account would take minutes)."""

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    def add_arguments(self, parser):
        parser.add_argument("count", type=int)
        parser.add_argument("--password", required=True)
        parser.add_argument("--prefix", default="bench")

    def handle(self, count, password, prefix, **options):
        User = get_user_model()
        existing = set(
            User.objects.filter(username__startswith=prefix).values_list(
                "username", flat=True
            )
        )
        encoded = make_password(password)
        missing = [
            User(
                username=f"{prefix}{i}",
                email=f"{prefix}{i}@example.com",
                password=encoded,
            )
            for i in range(count)
            if f"{prefix}{i}" not in existing
        ]
        User.objects.bulk_create(missing, batch_size=5000)
        self.stdout.write(f"{len(missing)} users added, {count} wanted")
