"""The site as a feed generator over HTTP: /.well-known/did.json, describeFeedGenerator and
getFeedSkeleton (paging, what is listed, refusals)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from bluesky.models import BlueskyPost
from tapes.models import TapeVisibility
from tests.bluesky.conftest import FEED_URI, PUBLISHER_DID
from tests.bluesky.factories import BlueskyPostFactory
from tests.tapes.factories import ReadyTapeFactory

pytestmark = pytest.mark.django_db

SKELETON = "/xrpc/app.bsky.feed.getFeedSkeleton"
DESCRIBE = "/xrpc/app.bsky.feed.describeFeedGenerator"
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def skeleton(client: Client, **params: Any) -> Any:
    return client.get(SKELETON, {"feed": FEED_URI, **params})


def uris(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["post"] for item in response.json()["feed"]]


def walk(client: Client, limit: int, *, between: Any = None) -> list[list[str]]:
    """Every page of the feed, following cursors (bounded), calling ``between`` after the
    first page."""
    pages: list[list[str]] = []
    params: dict[str, Any] = {"limit": limit}
    for _ in range(50):
        response = skeleton(client, **params)
        pages.append(uris(response))
        cursor = response.json().get("cursor")
        if cursor is None:
            return pages
        if between is not None and len(pages) == 1:
            between()
        params["cursor"] = cursor
    raise AssertionError("the feed never ended")


def flat(pages: list[list[str]]) -> list[str]:
    return [uri for page in pages for uri in page]


def newest_first(posts: list[BlueskyPost]) -> list[str]:
    return [p.uri for p in sorted(posts, key=lambda p: (p.posted_at, p.id), reverse=True)]


# --- did.json ---------------------------------------------------------------------------------


def test_did_document_names_the_site_as_a_feed_generator(
    client: Client, feed_settings: Any
) -> None:
    response = client.get("/.well-known/did.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "max-age=" in response["Cache-Control"]
    assert response.json() == {
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


def test_did_document_host_defaults_to_the_site_url_port_encoded(
    client: Client, feed_settings: Any
) -> None:
    feed_settings.BLUESKY_FEEDGEN_HOSTNAME = ""
    feed_settings.TAPES_SITE_URL = "https://Tapes.Example:8443/"
    body = client.get("/.well-known/did.json").json()
    assert body["id"] == "did:web:tapes.example%3A8443"
    assert body["service"][0]["serviceEndpoint"] == "https://tapes.example:8443"


def test_the_feed_generator_is_off_without_a_publisher_did_or_when_turned_off(
    client: Client, feed_settings: Any
) -> None:
    feed_settings.BLUESKY_FEED_PUBLISHER_DID = ""
    feed_settings.BLUESKY_FEED_PUBLISHER_IDENTIFIER = "someone.test"
    assert client.get("/.well-known/did.json").status_code == 404
    off = client.get(SKELETON, {"feed": FEED_URI})
    assert off.status_code == 501
    assert off.json()["error"] == "MethodNotImplemented"
    assert client.get(DESCRIBE).status_code == 501

    # A DID identifier is the publisher DID itself.
    feed_settings.BLUESKY_FEED_PUBLISHER_IDENTIFIER = PUBLISHER_DID
    assert client.get("/.well-known/did.json").status_code == 200
    assert skeleton(client).status_code == 200

    feed_settings.BLUESKY_FEEDGEN_ENABLED = False
    assert client.get("/.well-known/did.json").status_code == 404
    assert skeleton(client).status_code == 501


# --- describeFeedGenerator --------------------------------------------------------------------


def test_describe_feed_generator_names_the_service_and_the_feed(
    client: Client, feed_settings: Any
) -> None:
    response = client.get(DESCRIBE)
    assert response.status_code == 200
    assert response.json() == {"did": "did:web:tapes.example", "feeds": [{"uri": FEED_URI}]}
    feed_settings.BLUESKY_FEED_RKEY = "tapes-two"
    assert client.get(DESCRIBE).json()["feeds"] == [
        {"uri": f"at://{PUBLISHER_DID}/app.bsky.feed.generator/tapes-two"}
    ]


# --- getFeedSkeleton: paging ------------------------------------------------------------------


def test_seven_posts_in_pages_of_three_newest_first_the_last_without_cursor(
    client: Client, feed_settings: Any
) -> None:
    posts = BlueskyPostFactory.create_batch(7)
    first = skeleton(client, limit=3)
    assert "public" in first["Cache-Control"] and "max-age=30" in first["Cache-Control"]

    pages = walk(client, 3)

    assert [len(p) for p in pages] == [3, 3, 1]
    assert flat(pages) == newest_first(posts)


def test_a_full_last_page_has_no_cursor(client: Client, feed_settings: Any) -> None:
    posts = BlueskyPostFactory.create_batch(6)
    pages = walk(client, 3)
    assert [len(p) for p in pages] == [3, 3]
    assert flat(pages) == newest_first(posts)


def test_an_empty_feed(client: Client, feed_settings: Any) -> None:
    response = skeleton(client)
    assert response.status_code == 200
    assert response.json() == {"feed": []}


def test_a_post_written_between_pages_does_not_shift_the_later_ones(
    client: Client, feed_settings: Any
) -> None:
    posts = BlueskyPostFactory.create_batch(7)
    fresh: list[BlueskyPost] = []

    def insert() -> None:
        newest = max(p.posted_at for p in posts if p.posted_at is not None)
        fresh.append(BlueskyPostFactory.create(posted_at=newest + timedelta(minutes=5)))

    pages = walk(client, 3, between=insert)

    assert flat(pages) == newest_first(posts)
    # The new post heads the feed for whoever starts again.
    assert uris(skeleton(client, limit=1)) == [fresh[0].uri]


def test_posts_of_the_same_moment_are_ordered_by_id_and_none_is_lost(
    client: Client, feed_settings: Any
) -> None:
    same = T0 + timedelta(microseconds=250)
    tied = BlueskyPostFactory.create_batch(5, posted_at=same)
    # Within the same millisecond as the tie, before and after it.
    before = BlueskyPostFactory.create(posted_at=T0 + timedelta(microseconds=100))
    after = BlueskyPostFactory.create(posted_at=T0 + timedelta(microseconds=900))

    pages = walk(client, 2)

    assert flat(pages) == [
        after.uri,
        *[p.uri for p in sorted(tied, key=lambda p: p.id, reverse=True)],
        before.uri,
    ]


def test_only_written_wanted_posts_of_listed_tapes_are_in_the_feed(
    client: Client, feed_settings: Any
) -> None:
    listed = BlueskyPostFactory.create()
    BlueskyPostFactory.create(tape=ReadyTapeFactory.create(visibility=TapeVisibility.UNLISTED))
    BlueskyPostFactory.create(tape=ReadyTapeFactory.create(nuke=1))
    BlueskyPostFactory.create(pending=True)
    BlueskyPostFactory.create(failed=True)
    BlueskyPostFactory.create(wanted=False)
    # Done, but with no URI or moment recorded: nothing to point the AppView at.
    BlueskyPostFactory.create(uri="")
    BlueskyPostFactory.create(posted_at=None)

    assert uris(skeleton(client)) == [listed.uri]


def test_a_post_leaves_the_feed_when_its_tape_is_unlisted(
    client: Client, feed_settings: Any
) -> None:
    post = BlueskyPostFactory.create()
    assert uris(skeleton(client)) == [post.uri]
    post.tape.visibility = TapeVisibility.UNLISTED
    post.tape.save(update_fields=["visibility"])
    assert uris(skeleton(client)) == []


# --- getFeedSkeleton: limits and refusals -----------------------------------------------------


def test_limit_defaults_to_fifty_and_takes_one_to_a_hundred(
    client: Client, feed_settings: Any
) -> None:
    BlueskyPostFactory.create_batch(101)
    default = skeleton(client)
    assert len(uris(default)) == 50
    assert "cursor" in default.json()
    assert len(uris(skeleton(client, limit=1))) == 1
    most = skeleton(client, limit=100)
    assert len(uris(most)) == 100
    assert "cursor" in most.json()
    for bad in ("0", "101", "-3", "ten"):
        refused = skeleton(client, limit=bad)
        assert refused.status_code == 400
        assert refused.json()["error"] == "InvalidRequest"
        assert refused.json()["message"]


def test_an_unknown_feed_is_refused_as_the_lexicon_says(client: Client, feed_settings: Any) -> None:
    response = client.get(SKELETON, {"feed": f"at://{PUBLISHER_DID}/app.bsky.feed.generator/other"})
    assert response.status_code == 400
    assert response.json()["error"] == "UnknownFeed"
    assert response.json()["message"]
    missing = client.get(SKELETON)
    assert missing.status_code == 400
    assert missing.json()["error"] == "InvalidRequest"


@pytest.mark.parametrize("cursor", ["nonsense", "12::x", "999999999999999999::1", "1::2::3"])
def test_a_bad_cursor_is_an_invalid_request(
    client: Client, feed_settings: Any, cursor: str
) -> None:
    BlueskyPostFactory.create()
    response = skeleton(client, cursor=cursor)
    assert response.status_code == 400
    assert response.json()["error"] == "InvalidRequest"


def test_a_viewer_token_from_the_appview_is_not_needed_nor_checked(
    client: Client, feed_settings: Any
) -> None:
    post = BlueskyPostFactory.create()
    response = client.get(
        SKELETON, {"feed": FEED_URI}, headers={"Authorization": "Bearer not.a.jwt"}
    )
    assert uris(response) == [post.uri]


def test_the_methods_answer_get_only(client: Client, feed_settings: Any) -> None:
    assert client.post(SKELETON, {"feed": FEED_URI}).status_code == 405
    assert client.head("/.well-known/did.json").status_code == 200
