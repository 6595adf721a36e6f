"""The Bluesky post of a tape (bluesky/records.py): pure, and checked against the published
app.bsky.* lexicons with the reference validator (npm @atproto/lexicon)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from bluesky.records import (
    PostedTape,
    alt_text,
    external_embed,
    is_gif_like,
    link_facet,
    post_record,
    post_text,
    post_web_url,
    video_embed,
)
from tests.support.lexicon import reference_bsky

BLOB = {
    "$type": "blob",
    "ref": {"$link": "bafkreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"},
    "mimeType": "video/mp4",
    "size": 12345,
}
THUMB = {**BLOB, "mimeType": "image/webp", "size": 2000}
WHEN = datetime(2026, 12, 5, 12, 0, 0, 123456, tzinfo=UTC)


def tape(**overrides: object) -> PostedTape:
    values: dict[str, object] = {
        "code": "ab3",
        "piece": "line",
        "page_url": "https://tapes.example/t/ab3",
        "width": 128,
        "height": 96,
        "duration_ms": 2400,
    }
    values.update(overrides)
    return PostedTape(**values)  # type: ignore[arg-type]


def test_the_text_is_the_code_without_a_title_and_links_to_the_tape_page() -> None:
    record = post_record(tape(), embed=video_embed(tape(), BLOB), created_at=WHEN)
    assert record["text"] == "!ab3"
    assert record["facets"] == [
        {
            "index": {"byteStart": 0, "byteEnd": 4},
            "features": [
                {"$type": "app.bsky.richtext.facet#link", "uri": "https://tapes.example/t/ab3"}
            ],
        }
    ]
    assert record["createdAt"] == "2026-12-05T12:00:00.123Z"
    assert "langs" not in record


def test_the_facet_counts_utf8_bytes_of_a_title() -> None:
    titled = tape(title="Ünïcode 🎞️ loop")
    text = post_text(titled)
    assert text == "Ünïcode 🎞️ loop"
    facet = link_facet(text, titled.page_url)
    assert facet["index"] == {"byteStart": 0, "byteEnd": len(text.encode("utf-8"))}
    assert facet["index"]["byteEnd"] > len(text)


def test_the_video_embed_has_the_aspect_ratio_alt_text_and_gif_presentation() -> None:
    embed = video_embed(tape(), BLOB)
    assert embed == {
        "$type": "app.bsky.embed.video",
        "video": BLOB,
        "alt": "A 2.4 s tape of line",
        "aspectRatio": {"width": 128, "height": 96},
        "presentation": "gif",
    }


def test_the_owners_alt_text_wins_and_long_tapes_get_the_player() -> None:
    long = tape(alt_text="A red line crosses the screen.", duration_ms=40_000)
    embed = video_embed(long, BLOB)
    assert embed["alt"] == "A red line crosses the screen."
    assert "presentation" not in embed
    assert not is_gif_like(tape(has_audio=True))
    assert alt_text(tape(duration_ms=None)) == "A tape of line"


def test_no_aspect_ratio_without_a_size() -> None:
    assert "aspectRatio" not in video_embed(tape(width=None, height=None), BLOB)


def test_the_link_card_names_the_tape_and_carries_the_thumbnail() -> None:
    card = external_embed(tape(), THUMB)
    assert card == {
        "$type": "app.bsky.embed.external",
        "external": {
            "uri": "https://tapes.example/t/ab3",
            "title": "!ab3 · line",
            "description": "A 2.4 s tape of line on Tapesite.",
            "thumb": THUMB,
        },
    }
    titled = external_embed(tape(title="Loop", description="Round and round."), None)
    assert titled["external"]["title"] == "Loop"
    assert titled["external"]["description"] == "Round and round."
    assert "thumb" not in titled["external"]


def test_the_post_url_on_bsky_app() -> None:
    assert post_web_url("did:plc:abc", "3k2") == "https://bsky.app/profile/did:plc:abc/post/3k2"


def test_posts_with_either_embed_are_valid_app_bsky_feed_posts() -> None:
    titled = tape(title="Ünïcode 🎞️ loop", alt_text="x" * 1000)
    records = [
        post_record(tape(), embed=video_embed(tape(), BLOB), created_at=WHEN),
        post_record(titled, embed=video_embed(titled, BLOB), created_at=WHEN, langs=["en"]),
        post_record(tape(), embed=external_embed(tape(), THUMB), created_at=WHEN),
        post_record(tape(), embed=external_embed(tape(), None), created_at=WHEN),
        post_record(tape(title="🎞️" * 400), embed=external_embed(tape(), None), created_at=WHEN),
    ]
    results = reference_bsky("app.bsky.feed.post", records)
    assert [r.get("valid") for r in results] == [True] * len(records), results


def test_the_reference_validator_catches_a_broken_post() -> None:
    # The check above can fail.
    broken = post_record(tape(), embed=video_embed(tape(), THUMB), created_at=WHEN)
    del broken["createdAt"]
    results = reference_bsky("app.bsky.feed.post", [broken])
    assert results[0] == {"valid": False, "error": 'Record must have the property "createdAt"'}


def test_records_import_neither_django_nor_the_site() -> None:
    # federation.graphemes (pure) is the one module of the site it uses.
    probe = (
        "import sys, bluesky.records; "
        "loaded = {m.split('.')[0] for m in sys.modules}; "
        "print(sorted(loaded & {'django', 'tapesite', 'rest_framework', 'tapes', 'accounts'}))"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=root, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
