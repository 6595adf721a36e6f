"""Every file a tape may have in storage, in one list.

Purge, relocation, a user's deletion, the media endpoints, the presenters and the admin all walk
this list, so a new kind of output is added here once (see "How to add an output file" in
``docs/architecture.md``). Pure: no Django.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TapeFile:
    name: str  # its public name: /api/tapes/<code>/media/<name>
    key_field: str  # the Tape field holding its storage key ('' until made)
    bytes_field: str  # the Tape field holding its size
    media_type: str
    # How its key ends, beside the ZIP's ("users/7/draw-123.zip" -> "users/7/draw-123.mp4").
    suffix: str


# The upload first, then what the encoder makes from it.
TAPE_FILES = (
    TapeFile("zip", "zip_key", "zip_bytes", "application/zip", ".zip"),
    TapeFile("mp4", "mp4_key", "mp4_bytes", "video/mp4", ".mp4"),
    TapeFile("thumbnail", "thumbnail_key", "thumbnail_bytes", "image/webp", "-thumb.webp"),
    TapeFile("preview", "preview_key", "preview_bytes", "image/webp", "-preview.webp"),
    TapeFile("gif", "gif_key", "gif_bytes", "image/gif", ".gif"),
)
OUTPUT_FILES = TAPE_FILES[1:]
BY_NAME = {file.name: file for file in TAPE_FILES}


def tape_file_keys(tape: Any) -> dict[str, str]:
    """Each file a tape may have, by its public name, and its storage key ('' until made)."""
    return {file.name: getattr(tape, file.key_field) or "" for file in TAPE_FILES}


def tape_stored_files(tape: Any) -> list[tuple[TapeFile, str]]:
    """The files the tape names, with their keys."""
    stored = [(file, getattr(tape, file.key_field) or "") for file in TAPE_FILES]
    return [(file, key) for file, key in stored if key]
