"""The feed generator's pure parts (bluesky.feedgen): did:web, cursor, limit, one page."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bluesky import feedgen
from bluesky.feedgen import FeedRequestError, Position, Row

T0 = datetime(2026, 12, 5, 12, 0, 0, 123456, tzinfo=UTC)


def test_did_web_of_a_host_and_of_a_host_with_a_port() -> None:
    assert feedgen.did_web("tapes.example") == "did:web:tapes.example"
    assert feedgen.did_web("Tapes.Example") == "did:web:tapes.example"
    assert feedgen.did_web("localhost:8000") == "did:web:localhost%3A8000"


def test_did_document_names_the_feed_generator_service() -> None:
    assert feedgen.did_document("tapes.example") == {
        "@context": ["https://www.w3.org/ns/did/v1"],
        "id": "did:web:tapes.example",
        "service": [
            {
                "id": "#bsky_fg",
                "type": "BskyFeedGenerator",
                "serviceEndpoint": "https://tapes.example",
            }
        ],
    }


def test_feed_uri() -> None:
    assert (
        feedgen.feed_uri("did:plc:abc", "tapes") == "at://did:plc:abc/app.bsky.feed.generator/tapes"
    )


def test_a_cursor_round_trips_to_the_microsecond() -> None:
    for position in (
        Position(T0, 7),
        Position(T0 + timedelta(microseconds=1), 7),
        Position(datetime(1970, 1, 1, tzinfo=UTC), 1),
        Position(datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), 2**63 - 1),
    ):
        cursor = feedgen.encode_cursor(position)
        assert feedgen.decode_cursor(cursor) == position


def test_a_cursor_keeps_what_milliseconds_would_lose() -> None:
    a = feedgen.encode_cursor(Position(T0, 5))
    b = feedgen.encode_cursor(Position(T0 + timedelta(microseconds=300), 5))
    assert a != b
    assert a == "1796472000123456::5"


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "abc",
        "123",
        "123::",
        "::5",
        "12:5",
        "-5::3",
        "5::-3",
        "1.5::3",
        "5::3::1",
        " 5::3",
        "5::3\n",
        "999999999999999999::1",  # past year 9999
        "1234567890123456789::1",  # too long
        "5::9223372036854775808",  # past bigint
        "١٢::٣",  # digits, but not ASCII ones
    ],
)
def test_a_malformed_cursor_is_an_invalid_request(cursor: str) -> None:
    with pytest.raises(FeedRequestError) as caught:
        feedgen.decode_cursor(cursor)
    assert caught.value.error == "InvalidRequest"


@pytest.mark.parametrize(("raw", "limit"), [(None, 50), ("", 50), ("1", 1), ("100", 100)])
def test_limit_defaults_and_bounds(raw: str | None, limit: int) -> None:
    assert feedgen.parse_limit(raw) == limit


@pytest.mark.parametrize("raw", ["0", "101", "-1", "abc", "1.5", "99999", "1e2"])
def test_a_limit_out_of_bounds_is_an_invalid_request(raw: str) -> None:
    with pytest.raises(FeedRequestError) as caught:
        feedgen.parse_limit(raw)
    assert caught.value.error == "InvalidRequest"


def test_only_the_served_feed_is_known() -> None:
    served = "at://did:plc:abc/app.bsky.feed.generator/tapes"
    feedgen.check_feed(served, served)
    with pytest.raises(FeedRequestError) as unknown:
        feedgen.check_feed("at://did:plc:abc/app.bsky.feed.generator/other", served)
    assert unknown.value.error == "UnknownFeed"
    with pytest.raises(FeedRequestError) as missing:
        feedgen.check_feed(None, served)
    assert missing.value.error == "InvalidRequest"


def _rows(n: int) -> list[Row]:
    return [
        Row(T0 - timedelta(seconds=i), 100 - i, f"at://did:plc:p/app.bsky.feed.post/{i}")
        for i in range(n)
    ]


def test_a_page_with_more_after_it_ends_in_a_cursor_at_its_last_row() -> None:
    rows = _rows(4)
    page = feedgen.page(rows, 3)
    assert page.uris == [r.uri for r in rows[:3]]
    assert page.cursor is not None
    assert feedgen.decode_cursor(page.cursor) == Position(rows[2].posted_at, rows[2].id)


@pytest.mark.parametrize("n", [0, 1, 3])
def test_the_last_page_has_no_cursor_even_when_full(n: int) -> None:
    page = feedgen.page(_rows(n), 3)
    assert len(page.uris) == n
    assert page.cursor is None


def test_feedgen_imports_neither_django_nor_the_site() -> None:
    probe = (
        "import sys, bluesky.feedgen; "
        "loaded = {m.split('.')[0] for m in sys.modules}; "
        "print(sorted(loaded & {'django', 'tapesite', 'rest_framework', 'federation', 'tapes'}))"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=root, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
