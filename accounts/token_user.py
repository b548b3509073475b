"""The account a bearer token names: one primary-key query whose SQL is built
once per database connection instead of on every request.

Authentication must read the user row on every request: its token_generation
and revoked-sessions list decide whether the token still stands, and a
revocation has to reach every process at once, so nothing about the account may
be cached. What can be kept is the work of turning the query into SQL, which
cost more CPU than the database took to answer it (the ORM builds the select
list, the join with the tier and the WHERE clause anew each time). The query is
the ORM's own (`select_related("tier")`, every column), compiled by Django, and
its rows go through Django's converters and `from_db`, so the instance is the
one `User.objects.select_related("tier").get(pk=...)` returns.
"""

import uuid

from django.db import connections, router
from django.db.models.query import get_related_populators

from accounts.models import User

_PLAN_ATTRIBUTE = "_accounts_token_user_plan"
# Any valid primary key: only the SQL and the parameter's position are kept.
_SAMPLE_PK = uuid.UUID(int=0)


class _Plan:
    """The compiled query for one connection (SQL, converters, and how a row
    becomes a User with its Tier)."""

    def __init__(self, alias: str):
        queryset = User.objects.using(alias).select_related("tier")
        compiler = queryset.filter(pk=_SAMPLE_PK).query.get_compiler(using=alias)
        self.sql, params = compiler.as_sql()
        if len(params) != 1:  # the primary key, and nothing else
            raise RuntimeError(f"unexpected parameters for the user query: {params}")
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

    def load(self, pk) -> User | None:
        field = User._meta.pk
        value = field.get_db_prep_value(field.to_python(pk), self.connection)
        with self.connection.cursor() as cursor:
            cursor.execute(self.sql, (value,))
            row = cursor.fetchone()
        if row is None:
            return None
        if self.converters:
            row = next(iter(self.compiler.apply_converters([row], self.converters)))
        user = User.from_db(self.alias, self.init_list, row[self.start : self.end])
        for populator in self.related:
            populator.populate(row, user)
        return user


def load_user(pk) -> User | None:
    """The account with this primary key, its tier loaded, or None. Raises
    ValidationError for a value that is no UUID."""
    alias = router.db_for_read(User)
    connection = connections[alias]
    plan = getattr(connection, _PLAN_ATTRIBUTE, None)
    if plan is None:
        plan = _Plan(alias)
        setattr(connection, _PLAN_ATTRIBUTE, plan)
    return plan.load(pk)
