"""Canonical identifier keys (accounts.identifiers) replace the LOWER() unique
constraints, which SQLite applies to ASCII only.

Existing rows get their keys in batches (Python computes them: IDNA and TS #39
skeletons have no SQL form), their email in its canonical form (the domain in IDNA
ASCII), and only then the unique indexes. Rows that already share a key (two
accounts registered under look-alike spellings before this rule) are not merged or
renamed: the oldest live account keeps the key, the later ones keep their name with
that key left NULL (the model recomputes it only when the name changes).

Done inside the migration's transaction; on PostgreSQL the table is locked while it
runs (about a minute per million accounts: one pipelined UPDATE per row).
"""

from django.db import migrations, models

import accounts.validators
from accounts import identifiers

BATCH = 5000
KEYS = ("username_key", "username_skeleton", "email_key")


def fill_keys(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    connection = schema_editor.connection
    quote = connection.ops.quote_name
    table = quote(User._meta.db_table)
    # Table and column names come from the model; every value is bound.
    set_keys = (
        f"UPDATE {table} SET {quote('username_key')} = %s, "  # noqa: S608
        f"{quote('username_skeleton')} = %s, {quote('email_key')} = %s "
        f"WHERE {quote('id')} = %s"
    )
    set_email = f"UPDATE {table} SET {quote('email')} = %s WHERE {quote('id')} = %s"  # noqa: S608
    pk_value = User._meta.pk.get_db_prep_value
    last = None
    while True:
        rows = User.objects.order_by("pk").values_list("pk", "username", "email")
        if last is not None:
            rows = rows.filter(pk__gt=last)
        rows = list(rows[:BATCH])
        if not rows:
            break
        last = rows[-1][0]
        keys, emails = [], []
        for pk, username, email in rows:
            pk = pk_value(pk, connection)
            keys.append(
                (
                    identifiers.username_key(username),
                    identifiers.username_skeleton(username),
                    identifiers.email_key(email),
                    pk,
                )
            )
            canonical = identifiers.normalize_email(email)
            if canonical != email:
                emails.append((canonical, pk))
        with connection.cursor() as cursor:
            cursor.executemany(set_keys, keys)
            if emails:
                cursor.executemany(set_email, emails)
    for column in KEYS:
        _release_shared_key(connection, table, quote(column))


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
        ("accounts", "0007_email_lookup_index_for_all_accounts"),
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
