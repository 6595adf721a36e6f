"""The web app's reads, called directly on PostgreSQL."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tapes.models import TapeVisibility
from tests.tapes.factories import ReadyTapeFactory
from web import selectors

pytestmark = pytest.mark.django_db


def test_the_sitemap_version_counts_listed_ready_tapes_on_their_own_index() -> None:
    assert connection.vendor == "postgresql", "the index is PostgreSQL's"
    listed = ReadyTapeFactory.create_batch(3)
    ReadyTapeFactory.create(visibility=TapeVisibility.UNLISTED)
    ReadyTapeFactory.create(failed=True)
    with CaptureQueriesContext(connection) as queries:
        count, newest = selectors.sitemap_tapes_version()
    assert (count, newest) == (3, max(tape.updated_at for tape in listed))
    # Asked on every crawl: answered from the partial index of listed ready tapes. The planner
    # would read a table this small whole, so that is priced out to see which index it can use.
    [asked] = queries.captured_queries
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + asked["sql"])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "tape_listed_ready_idx" in plan, plan
