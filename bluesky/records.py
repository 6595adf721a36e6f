"""A tape as a Bluesky post: the ``app.bsky.feed.post`` record and its two embeds, the video
(``app.bsky.embed.video``) and the link card (``app.bsky.embed.external``).

Pure: no Django. The services hand in what the post says about the tape (``PostedTape``) and the
blob refs the PDS or the video service returned; the record is checked by the PDS, which knows
the ``app.bsky.*`` lexicons, and by the tests against the reference validator.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from federation import graphemes

COLLECTION = "app.bsky.feed.post"
VIDEO = "app.bsky.embed.video"
EXTERNAL = "app.bsky.embed.external"
LINK = "app.bsky.richtext.facet#link"

# app.bsky.feed.post's text: 300 graphemes, 3000 bytes.
TEXT_GRAPHEMES, TEXT_BYTES = 300, 3000
# Alt text: the site keeps up to 1000 characters; the older lexicons cap it at 1000 graphemes
# and 10000 bytes, so a post stays valid for clients that still check those.
ALT_GRAPHEMES, ALT_BYTES = 1000, 10000
# The card's title and description (no lexicon limit; Bluesky's clients clip them anyway).
CARD_TITLE_GRAPHEMES, CARD_DESCRIPTION_GRAPHEMES = 300, 1000
# A loop this short is shown the way Bluesky shows GIFs (autoplaying, looping, no controls)
# when it has no sound; longer tapes get the player.
GIF_MAX_MS = 15_000
# app.bsky.embed.external's thumb blob: images up to 1 MB.
CARD_THUMB_MAX_BYTES = 1_000_000
CARD_THUMB_TYPES = {".webp": "image/webp", ".png": "image/png", ".jpg": "image/jpeg"}


@dataclass(frozen=True)
class PostedTape:
    """What a post says about its tape."""

    code: str
    piece: str
    page_url: str
    title: str = ""
    description: str = ""
    alt_text: str = ""
    width: int | None = None
    height: int | None = None
    duration_ms: int | None = None
    # Tapes are drawings: their videos carry no sound unless an encoder one day adds some.
    has_audio: bool = False


def _when(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _seconds(duration_ms: int | None) -> str:
    return f"{duration_ms / 1000:.1f} s" if duration_ms is not None else ""


def post_text(tape: PostedTape) -> str:
    """The title when the owner gave one, else ``!code``: the words that link to the tape."""
    text = tape.title.strip() or f"!{tape.code}"
    return graphemes.clip(text, max_graphemes=TEXT_GRAPHEMES, max_bytes=TEXT_BYTES)


def link_facet(text: str, uri: str) -> dict[str, Any]:
    """A link over the whole of ``text``: facets count UTF-8 bytes, not characters."""
    return {
        "index": {"byteStart": 0, "byteEnd": len(text.encode("utf-8"))},
        "features": [{"$type": LINK, "uri": uri}],
    }


def described(tape: PostedTape) -> str:
    """The piece and length, for a tape whose owner wrote no alt text (and the card)."""
    length = _seconds(tape.duration_ms)
    return f"A {length} tape of {tape.piece}" if length else f"A tape of {tape.piece}"


def alt_text(tape: PostedTape) -> str:
    text = tape.alt_text.strip() or described(tape)
    return graphemes.clip(text, max_graphemes=ALT_GRAPHEMES, max_bytes=ALT_BYTES)


def is_gif_like(tape: PostedTape) -> bool:
    """A short silent loop: shown as a GIF is (autoplay, loop, no sound controls)."""
    return (
        not tape.has_audio and tape.duration_ms is not None and 0 < tape.duration_ms <= GIF_MAX_MS
    )


def aspect_ratio(tape: PostedTape) -> dict[str, int] | None:
    if tape.width and tape.height and tape.width > 0 and tape.height > 0:
        return {"width": tape.width, "height": tape.height}
    return None


def video_embed(tape: PostedTape, video: dict[str, Any]) -> dict[str, Any]:
    """The video embed of ``video``, a blob ref the video service returned (JSON form)."""
    embed: dict[str, Any] = {"$type": VIDEO, "video": video, "alt": alt_text(tape)}
    ratio = aspect_ratio(tape)
    if ratio is not None:
        embed["aspectRatio"] = ratio
    if is_gif_like(tape):
        embed["presentation"] = "gif"
    return embed


def external_embed(tape: PostedTape, thumb: dict[str, Any] | None) -> dict[str, Any]:
    """A link card to the tape page, with the thumbnail when it was uploaded (``thumb``)."""
    title = tape.title.strip() or f"!{tape.code} · {tape.piece}"
    description = tape.description.strip() or f"{described(tape)} on Tapesite."
    external: dict[str, Any] = {
        "uri": tape.page_url,
        "title": graphemes.clip(title, max_graphemes=CARD_TITLE_GRAPHEMES, max_bytes=3000),
        "description": graphemes.clip(
            description, max_graphemes=CARD_DESCRIPTION_GRAPHEMES, max_bytes=10000
        ),
    }
    if thumb is not None:
        external["thumb"] = thumb
    return {"$type": EXTERNAL, "external": external}


def post_record(
    tape: PostedTape,
    *,
    embed: dict[str, Any],
    created_at: datetime,
    langs: list[str] | None = None,
) -> dict[str, Any]:
    """The ``app.bsky.feed.post`` for ``tape`` with ``embed`` (video or card)."""
    text = post_text(tape)
    record: dict[str, Any] = {
        "$type": COLLECTION,
        "text": text,
        "facets": [link_facet(text, tape.page_url)],
        "embed": embed,
        "createdAt": _when(created_at),
    }
    if langs:
        record["langs"] = list(langs)[:3]
    return record


def embed_kind(record: dict[str, Any]) -> str:
    """``video``, ``external`` or '' for a post read back from the PDS."""
    embed = record.get("embed")
    kind = embed.get("$type") if isinstance(embed, dict) else None
    return {VIDEO: "video", EXTERNAL: "external"}.get(str(kind), "")


def post_web_url(did: str, rkey: str) -> str:
    """Where people see the post on bsky.app."""
    return f"https://bsky.app/profile/{did}/post/{rkey}"
