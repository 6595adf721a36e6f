"""A paginator that does not COUNT a whole big table to draw the page links."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.functional import cached_property

# Below this many rows an exact COUNT is cheap, and the planner's estimate may be stale.
EXACT_BELOW = 20_000


class EstimatedCountPaginator(Paginator):
    """An unfiltered list gets PostgreSQL's row estimate (``pg_class.reltuples``, kept fresh by
    autovacuum) instead of ``SELECT COUNT(*)``, which reads every row. Filtered lists are counted
    exactly: the filters are indexed. ``approximate`` tells the template to say "about"."""

    approximate = False

    @cached_property
    def count(self) -> int:
        items: Any = self.object_list
        if isinstance(items, QuerySet) and not items.query.where:
            estimate = _estimated_rows(items)
            if estimate is not None and estimate >= EXACT_BELOW:
                self.approximate = True
                return estimate
        return int(super().count)


def _estimated_rows(queryset: QuerySet[Any]) -> int | None:
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
            [queryset.model._meta.db_table],
        )
        row = cursor.fetchone()
    # -1 means never analysed: no estimate.
    return int(row[0]) if row and row[0] >= 0 else None
