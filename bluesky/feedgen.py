"""The feed generator's pure parts: the site's did:web, the feed's at:// URI, the skeleton's
cursor and limit, and one page of a skeleton. No Django: the views and selectors feed it.

The cursor is a keyset position, ``<posted_at in µs since the epoch>::<post id>``: the next page
starts strictly after the last post shown in the order (posted_at desc, id desc), so posts added
since (they are newer, at the top) never shift the pages a reader is walking. Microseconds, not
milliseconds, because posted_at keeps microseconds: a cursor rounded to the millisecond would
skip the posts of the same millisecond that come after it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

GENERATOR_COLLECTION = "app.bsky.feed.generator"
DEFAULT_LIMIT = 50
MAX_LIMIT = 100

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CURSOR = re.compile(r"(\d{1,18})::(\d{1,19})", re.ASCII)
# Bigint's top: a larger id cannot be a row and would overflow the query.
_MAX_ID = 2**63 - 1


class FeedRequestError(ValueError):
    """A getFeedSkeleton request the feed refuses: ``error`` is the XRPC error name
    (``InvalidRequest``, ``UnknownFeed``), ``message`` the text for the caller."""

    def __init__(self, error: str, message: str) -> None:
        super().__init__(message)
        self.error = error
        self.message = message


@dataclass(frozen=True)
class Position:
    """Where a page ends: the last post shown (its posted_at and id)."""

    posted_at: datetime
    id: int


@dataclass(frozen=True)
class Row:
    """What a page needs of one post."""

    posted_at: datetime
    id: int
    uri: str


@dataclass(frozen=True)
class Page:
    uris: list[str]
    cursor: str | None


def did_web(hostname: str) -> str:
    """The did:web of a host; a port is part of the method-specific id, its colon encoded."""
    return "did:web:" + quote(hostname.lower(), safe=".-")


def did_document(hostname: str) -> dict[str, object]:
    """The did:web document of the site as a feed generator: its id, and where the AppView finds
    the app.bsky.feed.* methods (``#bsky_fg``)."""
    return {
        "@context": ["https://www.w3.org/ns/did/v1"],
        "id": did_web(hostname),
        "service": [
            {
                "id": "#bsky_fg",
                "type": "BskyFeedGenerator",
                "serviceEndpoint": f"https://{hostname.lower()}",
            }
        ],
    }


def feed_uri(publisher_did: str, rkey: str) -> str:
    return f"at://{publisher_did}/{GENERATOR_COLLECTION}/{rkey}"


def encode_cursor(position: Position) -> str:
    delta = position.posted_at - _EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return f"{micros}::{position.id}"


def decode_cursor(cursor: str) -> Position:
    """The position a cursor names; ``FeedRequestError("InvalidRequest")`` for anything this
    feed did not hand out (it is opaque to callers, so a malformed one is their mistake)."""
    match = _CURSOR.fullmatch(cursor)
    if match is None:
        raise FeedRequestError("InvalidRequest", "Malformed cursor.")
    micros, post_id = int(match[1]), int(match[2])
    if post_id > _MAX_ID:
        raise FeedRequestError("InvalidRequest", "Malformed cursor.")
    try:
        posted_at = _EPOCH + timedelta(microseconds=micros)
    except OverflowError as exc:
        raise FeedRequestError("InvalidRequest", "Malformed cursor.") from exc
    return Position(posted_at=posted_at, id=post_id)


def parse_limit(raw: str | None) -> int:
    """The lexicon's ``limit``: an integer 1..100, 50 when absent."""
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    if not re.fullmatch(r"\d{1,4}", raw, re.ASCII):
        raise FeedRequestError("InvalidRequest", "limit must be an integer from 1 to 100.")
    limit = int(raw)
    if not 1 <= limit <= MAX_LIMIT:
        raise FeedRequestError("InvalidRequest", "limit must be an integer from 1 to 100.")
    return limit


def check_feed(requested: str | None, served: str) -> None:
    """Refuse a request for a feed other than the one this generator serves."""
    if not requested:
        raise FeedRequestError("InvalidRequest", "The feed parameter is required.")
    if requested != served:
        raise FeedRequestError("UnknownFeed", f"This generator serves only {served}.")


def page(rows: Sequence[Row], limit: int) -> Page:
    """One page from the rows after the cursor, in feed order, fetched ``limit + 1`` at most:
    the extra row only says that another page exists, so the last page carries no cursor."""
    shown = list(rows[:limit])
    more = len(rows) > limit and bool(shown)
    cursor = encode_cursor(Position(shown[-1].posted_at, shown[-1].id)) if more else None
    return Page(uris=[row.uri for row in shown], cursor=cursor)
