"""Changelist paging for tables that grow without bound (accounts, events)."""

from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property


class EstimatedCountPaginator(Paginator):
    """Pages without an exact COUNT(*) over a big table.

    Counting a million rows reads them all on every changelist view. Unfiltered,
    PostgreSQL's planner estimate (pg_class.reltuples, kept fresh by autovacuum)
    is used once the table is big; filtered or searched, counting stops at
    COUNT_CAP rows, so the last pages of a huge result are not reachable by
    number (narrow the search instead).
    """

    COUNT_CAP = 10_000

    @cached_property
    def count(self):
        queryset = self.object_list
        if not queryset.query.where:
            estimate = _estimated_rows(queryset)
            if estimate is not None and estimate > self.COUNT_CAP:
                return estimate
        return queryset.order_by()[: self.COUNT_CAP].count()


def _estimated_rows(queryset) -> int | None:
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)",
            [connection.ops.quote_name(queryset.model._meta.db_table)],
        )
        row = cursor.fetchone()
    # -1 (or nothing) until the table was first vacuumed or analysed.
    return row[0] if row and row[0] >= 0 else None
