"""A tape as a ``computer.aesthetic.tape`` record: the lexicon it is checked against and the
record's JSON. Writing it is ``federate``'s work; when a tape federates, ``lifecycle``'s."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings

from federation import graphemes
from federation.lexicon import Lexicon
from tapes.models import Tape
from tapes.selectors import tape_provenance

COLLECTION = "computer.aesthetic.tape"
THUMBNAIL_TYPES = {".webp": "image/webp", ".png": "image/png", ".jpg": "image/jpeg"}
# The tape's words and the record's fields with their lexicon limits (bytes, graphemes): the site
# counts characters, so a title of 100 emoji fits the tape but not the record, which gets it
# clipped (the record's url leads to the whole text).
TEXT_FIELDS = (
    ("title", "title", 300, 100),
    ("description", "description", 3000, 1000),
    ("alt_text", "alt", 3000, 1000),
)


@cache
def tape_lexicon() -> Lexicon:
    return Lexicon.load(Path(settings.ATPROTO_LEXICON_DIR) / "computer/aesthetic/tape.json")


def _page_url(tape: Tape) -> str:
    return str(settings.TAPES_SITE_URL).rstrip("/") + f"/!{tape.code}"


def _when(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def tape_record(
    tape: Tape, *, video: dict[str, Any], thumbnail: dict[str, Any] | None
) -> dict[str, Any]:
    """The record for ``tape`` with the given blob refs (JSON form)."""
    record: dict[str, Any] = {
        "$type": COLLECTION,
        "slug": tape.slug,
        "code": tape.code,
        "when": _when(tape.when),
        "video": video,
        "ref": str(tape.pk),
        "piece": tape.piece,
        "url": _page_url(tape),
    }
    for attribute, name, max_bytes, max_graphemes in TEXT_FIELDS:
        text = getattr(tape, attribute)
        if text:
            record[name] = graphemes.clip(text, max_graphemes=max_graphemes, max_bytes=max_bytes)
    if thumbnail is not None:
        record["thumbnail"] = thumbnail
    if tape.width and tape.height:
        record["aspectRatio"] = {"width": tape.width, "height": tape.height}
    if tape.duration_ms is not None:
        record["durationMs"] = tape.duration_ms
    if tape.frames:
        record["frames"] = tape.frames
    provenance = _provenance(tape)
    if provenance:
        record["provenance"] = provenance
    return record


def _provenance(tape: Tape) -> dict[str, str]:
    """The tape's provenance in the record's spelling, empty parts left out."""
    shown = tape_provenance(tape)
    if shown is None:
        return {}
    site = shown["site"]
    parts = {
        "site": site["name"] if site else None,
        "origin": shown["origin"],
        "pieceUrl": shown["piece_url"],
        "source": shown["source"],
        "seed": shown["seed"],
    }
    return {name: value for name, value in parts.items() if value}


def placeholder_blob(mime: str, size: int) -> dict[str, Any]:
    # Lets the record be validated (sizes and types included) before anything is uploaded.
    cid = "bafkreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"
    return {"$type": "blob", "ref": {"$link": cid}, "mimeType": mime, "size": size}
