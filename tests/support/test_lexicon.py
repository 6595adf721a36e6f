"""The reference validator knows the published app.bsky lexicons (through npm @atproto/api)."""

from __future__ import annotations

from tests.support.lexicon import reference_bsky


def test_reference_bsky_accepts_a_post_and_names_what_a_broken_one_lacks() -> None:
    post = {"$type": "app.bsky.feed.post", "text": "hi", "createdAt": "2026-12-05T12:00:00.000Z"}
    broken = {"$type": "app.bsky.feed.post", "createdAt": "2026-12-05T12:00:00.000Z"}

    ok, refused = reference_bsky("app.bsky.feed.post", [post, broken])

    assert ok == {"valid": True, "error": None}
    assert refused["valid"] is False
    assert "text" in refused["error"]
