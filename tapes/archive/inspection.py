"""``inspect_archive``: every check in order, and the description of a valid tape."""

from __future__ import annotations

import math
import os
from typing import Any

from tapes.archive.documents import (
    Claims,
    check_durations,
    match_timing,
    parse_metadata,
    parse_timing,
    read_json,
)
from tapes.archive.entries import scan_entries
from tapes.archive.errors import fail
from tapes.archive.frames import check_frame_headers, verify_scale
from tapes.archive.info import TapeInfo
from tapes.archive.limits import DEFAULT_LIMITS, ArchiveLimits
from tapes.archive.reading import check_archive_size, check_directory, open_zip


def _discrepancies(claims: Claims, actual: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def note(name: str, claimed: Any, real: Any) -> None:
        if claimed is not None and claimed != real:
            found.append({"field": name, "metadata": claimed, "actual": real})

    note("frames", claims.frames, actual["frames"])
    if claims.duration_ms is not None:
        off = abs(claims.duration_ms - actual["total_duration_ms"])
        # Recorders measure the duration with their own clock; only a real disagreement is news.
        if off > max(20.0, 0.01 * actual["total_duration_ms"]):
            note("total_duration_ms", claims.duration_ms, actual["total_duration_ms"])
    note("scale", claims.scale, actual["scale"])
    if claims.stored_size is not None:
        note("stored_width", claims.stored_size[0], actual["stored_width"])
        note("stored_height", claims.stored_size[1], actual["stored_height"])
    if claims.base_size is not None:
        note("width", claims.base_size[0], actual["width"])
        note("height", claims.base_size[1], actual["height"])
    return found


def inspect_archive(
    path: str | os.PathLike[str], limits: ArchiveLimits = DEFAULT_LIMITS
) -> TapeInfo:
    """Validate the tape archive at ``path`` and describe it; raise :class:`ArchiveError` on the
    first problem. Decompresses only the two JSON files, 33 bytes of each frame and the first and
    last frames (to verify the scale)."""
    path = os.fspath(path)
    size = check_archive_size(path, limits)
    check_directory(path, size, limits)
    with open_zip(path) as zf:
        entries = scan_entries(zf, size, limits)
        frame_names = [info.filename for info in entries.frames]
        rows = parse_timing(read_json(zf, entries.timing, "timing", limits))
        claims = parse_metadata(raw_meta := read_json(zf, entries.metadata, "metadata", limits))
        match_timing(rows, frame_names)
        durations = check_durations(rows, limits)
        headers = check_frame_headers(zf, entries.frames, limits)
        first = headers[0]
        scale = verify_scale(zf, entries.frames, first, claims.scale or 1)
    width, height = first.width // scale, first.height // scale
    if width > limits.max_base_width or height > limits.max_base_height:
        raise fail(
            "validation_dimensions",
            f"The tape is {width}x{height} at 1x (stored {first.width}x{first.height}, scale "
            f"{scale}); the limit is {limits.max_base_width}x{limits.max_base_height}.",
            width=width,
            height=height,
            scale=scale,
            claimed_scale=claims.scale,
        )
    actual: dict[str, Any] = {
        "frames": len(frame_names),
        "total_duration_ms": math.fsum(durations),
        "scale": scale,
        "stored_width": first.width,
        "stored_height": first.height,
        "width": width,
        "height": height,
    }
    return TapeInfo(
        piece=claims.piece,
        frame_names=tuple(frame_names),
        durations_ms=durations,
        total_duration_ms=actual["total_duration_ms"],
        stored_width=first.width,
        stored_height=first.height,
        scale=scale,
        width=width,
        height=height,
        has_alpha=any(h.has_alpha for h in headers),
        fps=claims.fps,
        created=claims.created,
        discrepancies=tuple(_discrepancies(claims, actual)),
        ignored_entries=tuple(entries.ignored),
        metadata_shape=claims.shape,
        metadata=raw_meta,
    )
