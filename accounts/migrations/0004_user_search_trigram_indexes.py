"""Trigram indexes for the staff search (admin and GET /api/v1/users?search=).

Django compiles `icontains` on PostgreSQL to `UPPER("col"::text) LIKE UPPER(%s)`;
a GIN index over exactly that expression with `gin_trgm_ops` answers the
four-column search from the index instead of reading a million rows. The
expression must stay byte-for-byte what Django emits, or the planner ignores the
index (accounts/tests/test_scale.py checks the plans).

PostgreSQL only: on SQLite (and any other database) this migration does nothing.
The indexes are built CONCURRENTLY (so the migration is not atomic): on a live
table with a million accounts a plain CREATE INDEX would block sign-ins, which
write last_login, for as long as the build takes.
"""

from django.db import migrations

COLUMNS = ("username", "email", "first_name", "last_name")


def _index_name(column):
    return f"accounts_user_{column}_trgm"


def create_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may
    # create it without superuser rights.
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    # A concurrent build that failed leaves an INVALID index behind, which
    # IF NOT EXISTS would then keep forever: drop it so a re-run rebuilds it.
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " WHERE NOT i.indisvalid AND c.relname = ANY(%s)",
            [[_index_name(column) for column in COLUMNS]],
        )
        invalid = [row[0] for row in cursor.fetchall()]
    for name in invalid:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
    for column in COLUMNS:
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {_index_name(column)} "
            f'ON accounts_user USING gin (UPPER("{column}"::text) gin_trgm_ops)'
        )


def drop_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(
            f"DROP INDEX CONCURRENTLY IF EXISTS {_index_name(column)}"
        )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("accounts", "0003_user_admin_indexes"),
    ]

    operations = [
        migrations.RunPython(
            create_trigram_indexes, drop_trigram_indexes, elidable=False
        ),
    ]
