"""Reads of the "Tapes" feed: which Bluesky posts it lists, one keyset page at a time."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from bluesky import feedgen
from bluesky.models import BlueskyPost, BlueskyPostState
from tapes.models import Tape


def feed_posts() -> QuerySet[BlueskyPost]:
    """The posts the feed lists, newest first: written (done, with a URI and the moment it was
    written), still wanted by their owner, of a tape that is listed (public, not nuked: the same
    rule as every listing of the site, ``Tape.objects.listed()``)."""
    return (
        BlueskyPost.objects.filter(
            state=BlueskyPostState.DONE,
            wanted=True,
            posted_at__isnull=False,
            tape__in=Tape.objects.listed(),
        )
        .exclude(uri="")
        .order_by("-posted_at", "-id")
    )


def feed_rows(*, after: feedgen.Position | None, count: int) -> list[feedgen.Row]:
    """Up to ``count`` posts of the feed that come after ``after`` in its order (from the top
    when None)."""
    posts = feed_posts()
    if after is not None:
        # The redundant posted_at <= bound is what the index on posted_at can seek to; the OR
        # alone is a filter, and a deep page would scan every newer post to reach its start.
        posts = posts.filter(posted_at__lte=after.posted_at).filter(
            Q(posted_at__lt=after.posted_at) | Q(posted_at=after.posted_at, id__lt=after.id)
        )
    rows = []
    for posted_at, post_id, uri in posts.values_list("posted_at", "id", "uri")[:count]:
        if posted_at is not None:  # excluded by feed_posts(); the type cannot know
            rows.append(feedgen.Row(posted_at=posted_at, id=post_id, uri=uri))
    return rows


def feed_page(*, cursor: str | None, limit: int) -> feedgen.Page:
    """One page of the feed's skeleton (raises ``feedgen.FeedRequestError`` for a bad cursor)."""
    after = feedgen.decode_cursor(cursor) if cursor else None
    return feedgen.page(feed_rows(after=after, count=limit + 1), limit)
