"""The two JSON documents: ``timing.json`` (a duration per frame) and ``metadata.json`` (in its
canonical or legacy shape, read into one set of claims)."""

from __future__ import annotations

import json
import math
import zipfile
from dataclasses import dataclass
from typing import Any, Final

from tapes.archive.errors import ArchiveError, clip, fail
from tapes.archive.limits import ArchiveLimits
from tapes.archive.reading import read_entry


def read_json(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo | None, kind: str, limits: ArchiveLimits
) -> Any:
    name = f"{kind}.json"
    if info is None:
        raise fail(f"validation_{kind}_missing", f"The archive has no {name}.")
    malformed = f"validation_{kind}_malformed"
    if info.file_size > limits.max_json_bytes:
        raise fail(
            malformed,
            f"{name} is {info.file_size} bytes (limit {limits.max_json_bytes}).",
            limit=limits.max_json_bytes,
        )
    raw = read_entry(zf, info, limits.max_json_bytes)
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise fail(malformed, f"{name} is not valid JSON: {exc}", error=str(exc)) from exc


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def parse_timing(doc: Any) -> list[tuple[str, Any]]:
    def bad(message: str, index: int | None = None) -> ArchiveError:
        return fail("validation_timing_malformed", message, index=index)

    if not isinstance(doc, list):
        raise bad("timing.json must be a JSON list of {filename, duration} objects.")
    rows: list[tuple[str, Any]] = []
    for index, item in enumerate(doc):
        if not isinstance(item, dict):
            raise bad(f"timing.json entry {index} is not an object.", index)
        name = item.get("filename")
        if not isinstance(name, str):
            raise bad(f"timing.json entry {index} has no filename string.", index)
        if "duration" not in item:
            raise bad(f"timing.json entry {index} has no duration.", index)
        stamp = item.get("timestamp")
        if stamp is not None and not (_is_number(stamp) and math.isfinite(stamp)):
            raise bad(f"timing.json entry {index} has a non-numeric timestamp.", index)
        rows.append((name, item["duration"]))
    return rows


def match_timing(rows: list[tuple[str, Any]], frame_names: list[str]) -> None:
    if len(rows) != len(frame_names):
        raise fail(
            "validation_timing_mismatch",
            f"timing.json lists {len(rows)} frames but the archive has {len(frame_names)}.",
            timing_entries=len(rows),
            frame_files=len(frame_names),
        )
    for index, ((listed, _), actual) in enumerate(zip(rows, frame_names, strict=True)):
        if listed != actual:
            raise fail(
                "validation_timing_mismatch",
                f"timing.json entry {index} names {listed!r}, expected {actual!r}.",
                index=index,
                timing=listed,
                frame=actual,
            )


def check_durations(rows: list[tuple[str, Any]], limits: ArchiveLimits) -> tuple[float, ...]:
    durations: list[float] = []
    for index, (name, value) in enumerate(rows):
        valid = _is_number(value) and math.isfinite(value)
        if not valid or not (limits.min_frame_duration_ms <= value <= limits.max_frame_duration_ms):
            raise fail(
                "validation_duration_invalid",
                f"{name} has duration {clip(repr(value), 40)}; durations must be numbers of "
                f"ms in [{limits.min_frame_duration_ms}, {limits.max_frame_duration_ms}].",
                index=index,
                entry=name,
                duration=value if valid else repr(value),
            )
        durations.append(float(value))
    total = math.fsum(durations)
    if total > limits.max_duration_ms:
        raise fail(
            "validation_too_long",
            f"The tape lasts {total / 1000:.1f} s (limit {limits.max_duration_ms / 1000:.1f} s).",
            duration_ms=total,
            limit=limits.max_duration_ms,
        )
    return tuple(durations)


@dataclass(frozen=True)
class Claims:
    """What metadata.json says, in one shape whichever shape it came in."""

    shape: str
    piece: str | None = None
    frames: int | None = None
    duration_ms: float | None = None
    fps: float | None = None
    scale: int | None = None
    stored_size: tuple[int, int] | None = None
    base_size: tuple[int, int] | None = None
    created: str | None = None


_LEGACY_KEYS: Final = ("originalSize", "scaledSize", "frameCount", "totalDuration", "exportedAt")


class _Meta:
    """Typed getters over a metadata object; a present value of the wrong type is malformed."""

    def __init__(self, doc: dict[str, Any], where: str = "") -> None:
        self.doc = doc
        self.where = where

    def _bad(self, key: str, want: str) -> ArchiveError:
        path = f"{self.where}{key}"
        return fail(
            "validation_metadata_malformed",
            f"metadata.json: {path} must be {want}.",
            field=path,
        )

    def get_int(self, key: str, minimum: int = 0) -> int | None:
        value = self.doc.get(key)
        if value is None:
            return None
        if not _is_number(value) or not math.isfinite(value) or value != int(value):
            raise self._bad(key, "an integer")
        if value < minimum:
            raise self._bad(key, f"an integer >= {minimum}")
        return int(value)

    def get_number(self, key: str) -> float | None:
        value = self.doc.get(key)
        if value is None:
            return None
        if not _is_number(value) or not math.isfinite(value) or value < 0:
            raise self._bad(key, "a non-negative number")
        return float(value)

    def get_text(self, key: str, max_length: int = 256) -> str | None:
        value = self.doc.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or len(value) > max_length:
            raise self._bad(key, f"a string of at most {max_length} characters")
        return value

    def get_obj(self, key: str) -> _Meta | None:
        value = self.doc.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self._bad(key, "an object")
        return _Meta(value, f"{self.where}{key}.")

    def get_size(self, key: str) -> tuple[int, int] | None:
        sub = self.get_obj(key)
        return None if sub is None else _pair(sub.get_int("width", 1), sub.get_int("height", 1))


def _pair(width: int | None, height: int | None) -> tuple[int, int] | None:
    return None if width is None or height is None else (width, height)


def _derive_scale(stored: tuple[int, int] | None, base: tuple[int, int] | None) -> int | None:
    if stored is None or base is None:
        return None
    if stored[0] % base[0] or stored[1] % base[1] or stored[0] // base[0] != stored[1] // base[1]:
        return None
    return stored[0] // base[0]


def parse_metadata(doc: Any) -> Claims:
    if not isinstance(doc, dict):
        raise fail("validation_metadata_malformed", "metadata.json must be a JSON object.")
    meta = _Meta(doc)
    if "resolution" not in doc and any(key in doc for key in _LEGACY_KEYS):
        stored, base = meta.get_size("scaledSize"), meta.get_size("originalSize")
        return Claims(
            shape="legacy",
            piece=meta.get_text("piece"),
            frames=meta.get_int("frameCount"),
            duration_ms=meta.get_number("totalDuration"),
            fps=meta.get_number("fps"),
            scale=meta.get_int("scale", 1) or _derive_scale(stored, base),
            stored_size=stored,
            base_size=base,
            created=meta.get_text("exportedAt", 64),
        )
    resolution = meta.get_obj("resolution")
    stored = base = None
    scale = meta.get_int("scale", 1)
    if resolution is not None:
        stored = _pair(resolution.get_int("width", 1), resolution.get_int("height", 1))
        base = _pair(
            resolution.get_int("originalWidth", 1), resolution.get_int("originalHeight", 1)
        )
        scale = resolution.get_int("scale", 1) or scale
    return Claims(
        shape="canonical",
        piece=meta.get_text("piece"),
        frames=meta.get_int("frames"),
        duration_ms=meta.get_number("duration"),
        fps=meta.get_number("fps"),
        scale=scale or _derive_scale(stored, base),
        stored_size=stored,
        base_size=base,
        created=meta.get_text("created", 64),
    )
