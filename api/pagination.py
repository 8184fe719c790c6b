"""Cursor pagination for every list: no COUNT, no OFFSET over what came before.

Each list view names `ordering` (a tuple ending in a unique key, newest
first where time matters, e.g. the ledger's `("-created_at", "-id")`) and may
offer other orders through `StableOrderingFilter` (`?ordering=name`), which
appends the primary key so every order is total. A page holds `page_size`
rows (default 100, at most 500); `next`/`previous` carry an opaque cursor.

DRF's cursor keeps the position on the first ordering field and skips ties
by an offset, so page 1,000 costs what page 1 costs as long as that field
is nearly unique (a timestamp, a SKU, a code). A cursor that does not decode
is a 400 on `cursor`, not a 404 and never a 500.
"""

from rest_framework import exceptions
from rest_framework.filters import OrderingFilter
from rest_framework.pagination import CursorPagination

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 500


class ApiCursorPagination(CursorPagination):
    page_size = DEFAULT_PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    ordering = ("-pk",)  # views name their own

    def get_ordering(self, request, queryset, view):
        if any(issubclass(b, OrderingFilter) for b in getattr(view, "filter_backends", ())):
            ordering = super().get_ordering(request, queryset, view)
        else:  # DRF would take the paginator's own: the view's is the one that fits its rows
            ordering = getattr(view, "ordering", None) or self.ordering
        return tuple(ordering) if not isinstance(ordering, str) else (ordering,)

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound:
            raise exceptions.ValidationError({self.cursor_query_param: "Invalid cursor."}) from None


class StableOrderingFilter(OrderingFilter):
    """`?ordering=` among the view's `ordering_fields`, with the primary key appended.

    An unknown field is ignored, as DRF does, and the view's ordering applies.
    """

    def get_ordering(self, request, queryset, view):
        ordering = super().get_ordering(request, queryset, view)
        if not ordering:
            return ordering
        ordering = [f for f in ordering if f.lstrip("-") not in ("pk", "id")]
        last = "-pk" if ordering and ordering[-1].startswith("-") else "pk"
        return (*ordering, last)
