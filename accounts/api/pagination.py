from django.core.exceptions import ValidationError
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination


class StaffCursorPagination(CursorPagination):
    """Cursor pagination: constant cost per page at any depth (no OFFSET, no COUNT),
    which keeps the staff list fast with a million accounts."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = "-date_joined"

    def get_ordering(self, request, queryset, view):
        ordering = getattr(view, "cursor_ordering", self.ordering)
        # A unique tie-breaker keeps pages stable when the sort key repeats.
        return (ordering, "-id" if ordering.startswith("-") else "id")

    def paginate_queryset(self, queryset, request, view=None):
        try:
            return super().paginate_queryset(queryset, request, view)
        except (ValidationError, ValueError, TypeError, OverflowError) as exc:
            # A forged cursor can carry a position the database cannot compare.
            raise NotFound(self.invalid_cursor_message) from exc
