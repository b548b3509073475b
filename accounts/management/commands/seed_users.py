"""Insert many test accounts quickly, for load tests (`make bench`) and demos.

Accounts are named `<prefix><i>` for i in 0..N-1 (email `<prefix><i>@example.com`)
and share one password hash, computed once with the first configured hasher: a
million Argon2 hashes would take hours, and sign-in verifies a shared hash at
exactly the cost of a private one. Names are stored in the canonical forms
User.save() writes, so sign-in and the unique constraints treat them like any
other account. Running again with the same prefix adds only the missing accounts.
"""

import re
import time
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from accounts import identifiers
from accounts.managers import normalize_email, normalize_username
from accounts.models import User

DEFAULT_PASSWORD = "bench passphrase for load tests"
EMAIL_DOMAIN = "example.com"
BATCH_SIZE = 10_000
# Letters, digits, '.', '_' and '-': valid in a username and in an email's local
# part alike, and untouched by normalisation, so <prefix><i> is already canonical.
PREFIX_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9._-]{0,40}$")


class Command(BaseCommand):
    help = (
        "Create N accounts <prefix>0..<prefix>N-1 sharing one password "
        "(benchmark or development databases only)."
    )

    def add_arguments(self, parser):
        parser.add_argument("count", type=int, help="accounts wanted in the range")
        parser.add_argument("--password", default=DEFAULT_PASSWORD)
        parser.add_argument("--prefix", default="bench")

    def handle(self, *args, count, password, prefix, **options):
        # Accounts with a shared, published password on a live database would be
        # open doors: only a benchmark or development configuration may have them.
        if not (settings.DEBUG or settings.BENCH_ENDPOINTS):
            raise CommandError(
                "seed_users creates accounts with a known password; it runs only "
                "with DEBUG=true or BENCH_ENDPOINTS=true (a benchmark database)."
            )
        if count < 0:
            raise CommandError("count must be 0 or more.")
        if not PREFIX_PATTERN.match(prefix):
            raise CommandError(
                f"prefix {prefix!r}: use a letter, then letters, digits, '.', '_' "
                "or '-' (at most 41 characters)."
            )
        if not password:
            raise CommandError("password must not be empty.")

        started = time.monotonic()
        # One hash for everybody, made the way set_password() makes it.
        encoded = make_password(password)
        joined = timezone.now()
        before = User.objects.count()
        if connection.vendor == "postgresql":
            self._insert_with_generate_series(count, prefix, encoded, joined)
        else:
            self._insert_in_batches(count, prefix, encoded, joined)
        inserted = User.objects.count() - before
        self.stdout.write(
            f"{prefix}0..{prefix}{max(count - 1, 0)}: {inserted} inserted, "
            f"{count - inserted} already there, "
            f"in {time.monotonic() - started:.1f} s "
            f"(password {password!r}, email <name>@{EMAIL_DOMAIN})."
        )

    def _insert_in_batches(self, count, prefix, encoded, joined):
        """Portable path: bulk_create, conflicts (existing accounts) skipped."""
        for start in range(0, count, BATCH_SIZE):
            users = [
                User(
                    username=normalize_username(f"{prefix}{i}"),
                    email=normalize_email(f"{prefix}{i}@{EMAIL_DOMAIN}"),
                    password=encoded,
                    email_verified=True,
                    # Distinct join times: the staff list pages by date_joined.
                    date_joined=joined - timedelta(seconds=i),
                )
                for i in range(start, min(start + BATCH_SIZE, count))
            ]
            with transaction.atomic():
                User.objects.bulk_create(users, ignore_conflicts=True)

    def _insert_with_generate_series(self, count, prefix, encoded, joined):
        """PostgreSQL: the rows are generated inside the database (a million in
        seconds). Columns this command does not know get their model default, so
        a field added to User later does not break it."""
        if count == 0:
            return
        # The canonical forms, computed by the same functions User.save() uses; the
        # prefix pattern guarantees appending digits keeps them canonical.
        username_prefix = normalize_username(prefix)
        email_prefix = normalize_email(prefix)
        # Keys as User.save() computes them: they work character by character on
        # these ASCII names, so the prefix's key followed by the digits' is the
        # key of the whole (only 0 and 1 have a different skeleton: o and l).
        digits = "0123456789"
        skeleton_digits = "".join(identifiers.username_skeleton(d) for d in digits)
        known = {
            "id": ("gen_random_uuid()", []),
            "username_key": ("%s || i::text", [identifiers.username_key(prefix)]),
            "username_skeleton": (
                "%s || translate(i::text, %s, %s)",
                [identifiers.username_skeleton(prefix), digits, skeleton_digits],
            ),
            # An ASCII address's key is its lower-cased form, as stored.
            "email_key": ("%s || i::text || %s", [email_prefix, f"@{EMAIL_DOMAIN}"]),
            "password": ("%s", [encoded]),
            "username": ("%s || i::text", [username_prefix]),
            "email": ("%s || i::text || %s", [email_prefix, f"@{EMAIL_DOMAIN}"]),
            "email_verified": ("true", []),
            "date_joined": ("%s - make_interval(secs => i)", [joined]),
        }
        columns, expressions, params = [], [], []
        for field in User._meta.concrete_fields:
            if field.name in known:
                sql, values = known[field.name]
            else:
                sql, values = (
                    "%s",
                    [field.get_db_prep_save(field.get_default(), connection)],
                )
            columns.append(connection.ops.quote_name(field.column))
            expressions.append(sql)
            params.extend(values)
        table = connection.ops.quote_name(User._meta.db_table)
        # Table and column names come from the model and every value is bound.
        insert = (
            f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608
            f"SELECT {', '.join(expressions)} FROM generate_series(0, %s) AS i "
            "ON CONFLICT DO NOTHING"
        )
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(insert, [*params, count - 1])
        # Leave the table as autovacuum would leave a live one: fresh statistics
        # (else the planner still thinks it small) and, with VACUUM, the trigram
        # indexes' pending lists merged (else every search reads them whole).
        # VACUUM cannot run inside a transaction (a test's), ANALYZE can.
        with connection.cursor() as cursor:
            if connection.in_atomic_block:
                cursor.execute(f"ANALYZE {table}")
            else:
                cursor.execute(f"VACUUM (ANALYZE) {table}")
