"""Canonical identifier keys (accounts.identifiers) replace the LOWER() unique
constraints, which SQLite applies to ASCII only.

Existing rows get their keys in batches (Python computes them: IDNA and TS #39
skeletons have no SQL form), their email in its canonical form (the domain in IDNA
ASCII), and only then the unique indexes. Rows that already share a key (two
accounts registered under look-alike spellings before this rule) are not merged or
renamed: the oldest live account keeps the key, the later ones keep their name with
that key left NULL (the model recomputes it only when the name changes).

Done inside the migration's transaction, so the table is locked while it runs.
"""

from django.db import migrations, models

import accounts.validators
from accounts import identifiers

BATCH = 5000
KEYS = ("username_key", "username_skeleton", "email_key")


def fill_keys(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    connection = schema_editor.connection
    write = _write_postgresql if connection.vendor == "postgresql" else _write_rows
    last = None
    while True:
        rows = User.objects.order_by("pk").values_list("pk", "username", "email")
        if last is not None:
            rows = rows.filter(pk__gt=last)
        rows = list(rows[:BATCH])
        if not rows:
            break
        last = rows[-1][0]
        write(
            connection,
            User._meta.db_table,
            [
                (
                    User._meta.pk.get_db_prep_value(pk, connection),
                    identifiers.username_key(username),
                    identifiers.username_skeleton(username),
                    identifiers.email_key(email),
                    _canonical_email(email),
                )
                for pk, username, email in rows
            ],
        )
    quote = connection.ops.quote_name
    for column in KEYS:
        _release_shared_key(connection, quote(User._meta.db_table), quote(column))


def _canonical_email(email: str) -> str:
    canonical = identifiers.normalize_email(email)
    # Punycode can be longer than the Unicode spelling: one that no longer fits
    # the column stays as it was (its key is still canonical).
    return canonical if len(canonical) <= 254 else email


def _write_postgresql(connection, table, rows):
    """One statement per batch: the rows travel as arrays (a million single-row
    UPDATEs would be a million round trips)."""
    columns = list(zip(*rows, strict=True))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {connection.ops.quote_name(table)} AS u SET "  # noqa: S608
            "username_key = v.uk, username_skeleton = v.us, email_key = v.ek, "
            "email = v.em "
            "FROM unnest(%s::uuid[], %s::text[], %s::text[], %s::text[], %s::text[])"
            " AS v(id, uk, us, ek, em) WHERE u.id = v.id",
            [list(column) for column in columns],
        )


def _write_rows(connection, table, rows):
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {connection.ops.quote_name(table)} SET "  # noqa: S608
            "username_key = %s, username_skeleton = %s, email_key = %s, email = %s "
            "WHERE id = %s",
            [(*keys, pk) for pk, *keys in rows],
        )


def _release_shared_key(connection, table, column):
    """Leave a key only on the oldest live account of those that share it."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {column} = NULL WHERE id IN ("  # noqa: S608
            f" SELECT id FROM (SELECT id, ROW_NUMBER() OVER ("
            f"  PARTITION BY {column} ORDER BY date_joined, id) AS n"
            f"  FROM {table} WHERE deleted_at IS NULL AND {column} IS NOT NULL"
            f" ) AS ranked WHERE n > 1)"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0009_user_revoked_sessions"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        # Dropped first: canonical emails may meet under LOWER() (two spellings
        # of one domain), and the key constraints below replace them.
        migrations.RemoveConstraint(
            model_name="user",
            name="accounts_user_username_ci_unique",
        ),
        migrations.RemoveConstraint(
            model_name="user",
            name="accounts_user_email_ci_unique",
        ),
        migrations.AddField(
            model_name="user",
            name="email_key",
            field=models.TextField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="user",
            name="username_key",
            field=models.TextField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="user",
            name="username_skeleton",
            field=models.TextField(editable=False, null=True),
        ),
        migrations.AlterField(
            model_name="user",
            name="email",
            field=models.EmailField(
                max_length=254,
                validators=[accounts.validators.validate_email_domain],
            ),
        ),
        migrations.RunPython(fill_keys, migrations.RunPython.noop, elidable=False),
        migrations.AddConstraint(
            model_name="user",
            constraint=models.UniqueConstraint(
                condition=models.Q(("deleted_at__isnull", True)),
                fields=("username_key",),
                name="accounts_user_username_key_unique",
                violation_error_message="Username already taken",
            ),
        ),
        migrations.AddConstraint(
            model_name="user",
            constraint=models.UniqueConstraint(
                condition=models.Q(("deleted_at__isnull", True)),
                fields=("username_skeleton",),
                name="accounts_user_username_skeleton_unique",
                violation_error_message="Username already taken",
            ),
        ),
        migrations.AddConstraint(
            model_name="user",
            constraint=models.UniqueConstraint(
                condition=models.Q(("deleted_at__isnull", True)),
                fields=("email_key",),
                name="accounts_user_email_key_unique",
                violation_error_message="Email already registered",
            ),
        ),
    ]
