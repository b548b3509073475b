"""`manage.py mint_tokens KIND OUTPUT USERNAME...`: one token per username
(repeats allowed), one a line: `access` tokens for /auth/users/me/, or `refresh`
tokens (each recorded as outstanding, as a sign-in through /auth/jwt/create/
records it) for the rotating refresh."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from rest_framework_simplejwt.tokens import RefreshToken


class Command(BaseCommand):
    def add_arguments(self, parser):
        parser.add_argument("kind", choices=("access", "refresh"))
        parser.add_argument("output")
        parser.add_argument("--names", required=True, help="a file, one a line")

    def handle(self, kind, output, names, **options):
        with open(names) as source:
            wanted = [line.strip() for line in source if line.strip()]
        users = {
            u.username: u
            for u in get_user_model().objects.filter(username__in=set(wanted))
        }
        if set(wanted) - users.keys():
            raise CommandError(f"not seeded: {sorted(set(wanted) - users.keys())[:5]}")
        lines = []
        with transaction.atomic():
            for name in wanted:
                refresh = RefreshToken.for_user(users[name])
                lines.append(str(refresh.access_token if kind == "access" else refresh))
        with open(output, "w") as out:
            out.write("".join(f"{line}\n" for line in lines))
        self.stdout.write(f"{len(lines)} {kind} tokens")
