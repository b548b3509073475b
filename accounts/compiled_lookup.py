"""Primary-key lookups of the hottest requests (the account a bearer token
names, the session a refresh token names) and the refresh rotation's UPDATE,
their SQL built once per database connection instead of on every request.

Authentication must read the user row on every request: its token_generation
and revoked-sessions list decide whether the token still stands, and a
revocation has to reach every process at once, so nothing about the account may
be cached. What can be kept is the work of turning the query into SQL, which
cost more CPU than the database took to answer it (the ORM builds the select
list, the join and the WHERE clause anew each time). The query is the ORM's own
(`select_related(...)`, every column), compiled by Django, and its rows go
through Django's converters and `from_db`, so the instance is the one
`Model.objects.select_related(...).get(pk=...)` returns.

On PostgreSQL, when the connection allows prepared statements (its
`prepare_threshold` is set: DB_PREPARED_STATEMENTS), these lookups are sent
with their parameter bound by the server, so psycopg prepares each one once
per connection and PostgreSQL stops parsing and planning it on every request
(a third of the database's work for `/users/me`). Every other query keeps
Django's client-side binding, which psycopg never prepares.
"""

import uuid

from django.db import connections, router, transaction
from django.db.models.query import get_related_populators

from accounts.models import TokenSession, User

# Any valid primary key: only the SQL and the parameter's position are kept.
_SAMPLE_PK = uuid.UUID(int=0)


class _Plan:
    """The compiled query for one connection (SQL, converters, and how a row
    becomes a User with its Tier)."""

    def __init__(self, model, related: tuple[str, ...], alias: str):
        queryset = model._default_manager.using(alias).select_related(*related)
        compiler = queryset.filter(pk=_SAMPLE_PK).query.get_compiler(using=alias)
        self.sql, params = compiler.as_sql()
        if len(params) != 1:  # the primary key, and nothing else
            raise RuntimeError(f"unexpected parameters for {model}: {params}")
        self.model = model
        self.compiler = compiler
        self.alias = alias
        self.connection = compiler.connection
        columns = [column[0] for column in compiler.select[: compiler.col_count]]
        self.converters = compiler.get_converters(columns)
        klass_info = compiler.klass_info
        fields = klass_info["select_fields"]
        self.start, self.end = fields[0], fields[-1] + 1
        self.init_list = [
            column[0].target.attname
            for column in compiler.select[self.start : self.end]
        ]
        self.related = get_related_populators(klass_info, compiler.select, alias)

    def load(self, pk):
        field = self.model._meta.pk
        value = field.get_db_prep_value(field.to_python(pk), self.connection)
        with _cursor(self.connection) as cursor:
            cursor.execute(self.sql, (value,))
            row = cursor.fetchone()
        if row is None:
            return None
        if self.converters:
            row = next(iter(self.compiler.apply_converters([row], self.converters)))
        instance = self.model.from_db(
            self.alias, self.init_list, row[self.start : self.end]
        )
        for populator in self.related:
            populator.populate(row, instance)
        return instance


def _cursor(connection):
    # identity_site.postgresql's; another backend's ordinary cursor.
    prepared = getattr(connection, "prepared_cursor", None)
    return prepared() if prepared is not None else connection.cursor()


class PrimaryKeyLookup:
    """`model` by primary key with `related` loaded, or None; raises
    ValidationError for a value that is no valid key."""

    def __init__(self, model, *related: str):
        self.model = model
        self.related = related
        self.attribute = f"_accounts_lookup_{model._meta.label_lower}"

    def __call__(self, pk):
        alias = router.db_for_read(self.model)
        connection = connections[alias]
        plan = getattr(connection, self.attribute, None)
        if plan is None:
            plan = _Plan(self.model, self.related, alias)
            setattr(connection, self.attribute, plan)
        return plan.load(pk)


# The tier comes along: the per-user throttle reads its rate.
load_user = PrimaryKeyLookup(User, "tier")
load_token_session = PrimaryKeyLookup(TokenSession, "user")


# The rotation's conditional UPDATE (services.sessions.rotate_refresh_token):
# what `TokenSession.objects.filter(...).update(...)` sends, its SQL written
# once per connection from the model's columns instead of by the ORM on every
# refresh, and prepared like the lookups.
_ROTATION_SET = ("refresh_jti", "previous_jti", "rotated_at", "last_used_at")


def _rotation_sql(connection) -> str:
    quote = connection.ops.quote_name
    meta = TokenSession._meta

    def column(name):
        return quote(meta.get_field(name).column)

    assignments = ", ".join(f"{column(name)} = %s" for name in _ROTATION_SET)
    # Only the model's own quoted names are formatted in; every value is a
    # parameter.
    return (
        f"UPDATE {quote(meta.db_table)} SET {assignments}, "  # noqa: S608
        f"{column('expires_at')} = %s "
        f"WHERE {column('id')} = %s AND {column('refresh_jti')} = %s "
        f"AND {column('revoked_at')} IS NULL AND {column('expires_at')} > %s"
    )


def move_refresh_jti(
    *, session_pk, presented_jti: str, new_jti: str, now, expires_at
) -> int:
    """Move the session on from `presented_jti` to `new_jti` if it still holds
    the presented one and is neither revoked nor expired at `now`; the number
    of rows changed (0 or 1)."""
    alias = router.db_for_write(TokenSession)
    connection = connections[alias]
    sql = getattr(connection, "_accounts_rotation_sql", None)
    if sql is None:
        sql = _rotation_sql(connection)
        connection._accounts_rotation_sql = sql
    meta = TokenSession._meta

    def value(name, data):
        return meta.get_field(name).get_db_prep_value(data, connection)

    params = (
        value("refresh_jti", new_jti),
        value("previous_jti", presented_jti),
        value("rotated_at", now),
        value("last_used_at", now),
        value("expires_at", expires_at),
        value("id", session_pk),
        value("refresh_jti", presented_jti),
        value("expires_at", now),
    )
    with transaction.mark_for_rollback_on_error(using=alias):
        with _cursor(connection) as cursor:
            cursor.execute(sql, params)
            return cursor.rowcount
