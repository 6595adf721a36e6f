"""Validate and read a recorded tape: a ZIP of PNG frames, ``timing.json`` and ``metadata.json``.

The archive comes straight from a browser (or from anyone with curl), so nothing in it is trusted:
sizes and ratios are checked from the central directory before anything is decompressed, every
read is bounded, and every problem becomes an :class:`ArchiveError` with a stable ``validation_*``
code. The format and the codes are written down in ``docs/tape-format.md``.

Pure Python (no Django): the API, the encoder job and the benchmarks all call it.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import stat
import struct
import zipfile
import zlib
from collections import deque
from collections.abc import Callable, Generator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Final

import numpy as np

from tapesite.errors import TapesiteError

MiB: Final = 1024 * 1024

FRAME_NAME_RE: Final = re.compile(r"frame([0-9]{6})\.png")  # ASCII digits only
TIMING_NAME: Final = "timing.json"
METADATA_NAME: Final = "metadata.json"

#: Every code :func:`inspect_archive` and :func:`iter_frames` raise (see docs/tape-format.md).
CODES: Final = (
    "validation_not_zip",
    "validation_archive_too_large",
    "validation_encrypted",
    "validation_corrupt",
    "validation_unsafe_path",
    "validation_link",
    "validation_duplicate_entry",
    "validation_too_many_entries",
    "validation_uncompressed_too_large",
    "validation_compression_ratio",
    "validation_no_frames",
    "validation_too_many_frames",
    "validation_too_long",
    "validation_dimensions",
    "validation_timing_missing",
    "validation_timing_malformed",
    "validation_metadata_missing",
    "validation_metadata_malformed",
    "validation_timing_mismatch",
    "validation_duration_invalid",
    "validation_frame_not_png",
    "validation_frame_size_mismatch",
    "validation_frame_names",
)


class ArchiveError(TapesiteError):
    """The upload is not a valid tape. Never retryable: the same bytes fail the same way."""

    status = 400
    retryable = False


def _clip(value: Any, limit: int = 200) -> Any:
    # Messages and details echo names and values from the upload: keep them short for logs and
    # API responses whatever the archive contains.
    if isinstance(value, str):
        return value if len(value) <= limit else value[: limit - 3] + "..."
    if isinstance(value, list):
        return [_clip(item, limit) for item in value[:20]]
    return value


def _fail(code: str, message: str, **details: Any) -> ArchiveError:
    clipped = {key: _clip(value) for key, value in details.items()}
    return ArchiveError(code, _clip(message, 500), details=clipped or None)


# --------------------------------------------------------------------------------------------
# Limits


@dataclass(frozen=True)
class ArchiveLimits:
    """Everything :func:`inspect_archive` refuses. Build from settings with ``from_settings``."""

    max_archive_bytes: int = 100 * MiB
    max_uncompressed_bytes: int = 2 * 1024**3
    max_entry_ratio: float = 200.0
    ratio_check_min_bytes: int = 1 * MiB
    max_entries: int = 20_000
    max_frames: int = 3600
    max_duration_ms: float = 60_000
    min_frame_duration_ms: float = 0.001
    max_frame_duration_ms: float = 10_000
    max_width: int = 4096
    max_height: int = 4096
    max_base_width: int = 1024
    max_base_height: int = 1024
    max_json_bytes: int = 4 * MiB

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ValueError(f"ArchiveLimits.{f.name} must be a positive number, got {value!r}")
        if self.min_frame_duration_ms > self.max_frame_duration_ms:
            raise ValueError("ArchiveLimits.min_frame_duration_ms exceeds max_frame_duration_ms")

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | None) -> ArchiveLimits:
        """Keys are field names in any case (``MAX_FRAMES`` works); unknown keys are errors."""
        overrides = {key.lower(): value for key, value in (settings or {}).items()}
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"unknown archive limit(s): {', '.join(unknown)}")
        return cls(**overrides)


DEFAULT_LIMITS: Final = ArchiveLimits()


# --------------------------------------------------------------------------------------------
# Result


@dataclass(frozen=True)
class TapeInfo:
    """What a valid archive holds. Where metadata.json and the frames disagree, the frames win and
    the disagreement is listed in ``discrepancies`` as ``{"field", "metadata", "actual"}``."""

    piece: str | None
    frame_names: tuple[str, ...]
    durations_ms: tuple[float, ...]
    total_duration_ms: float
    stored_width: int
    stored_height: int
    scale: int
    width: int
    height: int
    has_alpha: bool  # a frame has an alpha channel (tRNS transparency is composited, unflagged)
    fps: float | None
    created: str | None
    discrepancies: tuple[dict[str, Any], ...] = ()
    ignored_entries: tuple[str, ...] = ()
    metadata_shape: str = "canonical"
    metadata: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def frames(self) -> int:
        return len(self.frame_names)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (without the raw metadata, which the caller may store separately)."""
        data = asdict(self)
        data.pop("metadata")
        data["frames"] = self.frames
        for key in ("frame_names", "durations_ms", "discrepancies", "ignored_entries"):
            data[key] = list(data[key])
        return data


# --------------------------------------------------------------------------------------------
# PNG decoding


def _pillow_png_decode(data: bytes) -> np.ndarray:
    """Fallback decoder; returns what imagecodecs would (palette expanded, 1-bit as 0/255)."""
    from PIL import Image

    with Image.open(io.BytesIO(data), formats=["PNG"]) as im:
        im.load()
        if im.mode in ("P", "PA", "1", "L", "RGB") and "transparency" in im.info:
            return np.asarray(im.convert("RGBA"))
        if im.mode in ("P", "1"):
            return np.asarray(im.convert("RGB" if im.mode == "P" else "L"))
        if im.mode.startswith("I"):
            return np.asarray(im).astype(np.uint16)
        return np.asarray(im)


def _load_png_decoder() -> Callable[[bytes], np.ndarray]:
    try:
        from imagecodecs import png_decode
    except ImportError:  # pragma: no cover - imagecodecs is a dependency; Pillow is ~7x slower
        return _pillow_png_decode
    return png_decode


_png_decode: Callable[[bytes], np.ndarray] = _load_png_decoder()

_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
_IHDR: Final = struct.Struct(">I4sIIBBBBB")
_PNG_HEAD_BYTES: Final = len(_PNG_SIGNATURE) + _IHDR.size + 4  # signature, IHDR, its CRC: 33
_VALID_DEPTHS: Final = {0: {1, 2, 4, 8, 16}, 2: {8, 16}, 3: {1, 2, 4, 8}, 4: {8, 16}, 6: {8, 16}}
_CHANNELS: Final = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


@dataclass(frozen=True)
class _PngHeader:
    width: int
    height: int
    bit_depth: int
    colour_type: int

    @property
    def has_alpha(self) -> bool:
        return self.colour_type in (4, 6)

    def max_file_bytes(self) -> int:
        """Generous upper bound of a PNG of this shape: raw scanlines stored uncompressed (worst
        case, including interlacing) plus slack for ancillary chunks. Anything larger is a bomb."""
        row = 1 + math.ceil(self.width * _CHANNELS[self.colour_type] * self.bit_depth / 8)
        raw = self.height * row
        return raw + raw // 50 + 8 * self.height + MiB


def _parse_png_header(head: bytes, name: str) -> _PngHeader:
    if head[: len(_PNG_SIGNATURE)] != _PNG_SIGNATURE:
        raise _fail("validation_frame_not_png", f"{name} is not a PNG image.", entry=name)
    if len(head) < _PNG_HEAD_BYTES:
        raise _fail("validation_corrupt", f"{name} is a truncated PNG.", entry=name)
    length, ctype, width, height, depth, colour, comp, filt, interlace = _IHDR.unpack_from(head, 8)
    (crc,) = struct.unpack_from(">I", head, 8 + _IHDR.size)
    valid = (
        length == 13
        and ctype == b"IHDR"
        and crc == zlib.crc32(head[12 : 8 + _IHDR.size])
        and width > 0
        and height > 0
        and depth in _VALID_DEPTHS.get(colour, ())
        and comp == 0
        and filt == 0
        and interlace in (0, 1)
    )
    if not valid:
        raise _fail("validation_corrupt", f"{name} has an invalid PNG header.", entry=name)
    return _PngHeader(width, height, depth, colour)


def _decode_png(data: bytes, name: str, width: int, height: int) -> np.ndarray:
    try:
        image = _png_decode(data)
    except Exception as exc:  # both decoders raise a variety of types on garbage
        raise _fail(
            "validation_corrupt", f"{name} could not be decoded as PNG.", entry=name, error=str(exc)
        ) from exc
    if image.ndim not in (2, 3) or image.shape[:2] != (height, width):
        raise _fail(
            "validation_frame_size_mismatch",
            f"{name} decodes to {image.shape[1]}x{image.shape[0]}; its header says "
            f"{width}x{height}.",
            entry=name,
        )
    return image


def _over_black(colour: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    # The recorder's canvas is opaque; a transparent pixel shows the black page behind it.
    # (c * a + 127) // 255 is c * a / 255 rounded, in integers.
    return ((colour.astype(np.uint16) * alpha + 127) // 255).astype(np.uint8)


def to_rgb8(image: np.ndarray) -> np.ndarray:
    """Any decoded PNG (grey, grey+alpha, RGB, RGBA; 8 or 16 bit) -> C-contiguous RGB uint8."""
    if image.ndim == 2:
        image = image[:, :, None]
    if image.dtype == np.uint16:
        image = ((image.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise _fail("validation_corrupt", f"unsupported PNG sample type {image.dtype}.")
    channels = image.shape[2]
    if channels in (2, 4):
        alpha = image[:, :, channels - 1 :]
        image = image[:, :, : channels - 1]
        if alpha.min() < 255:
            image = _over_black(image, alpha)
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    return np.ascontiguousarray(image)


# --------------------------------------------------------------------------------------------
# ZIP plumbing


_EOCD: Final = struct.Struct("<4s4H2LH")
_ZIP64_LOCATOR: Final = struct.Struct("<4sLQL")
_ZIP64_EOCD: Final = struct.Struct("<4sQ2H2L4Q")
#: Central directory bytes allowed per permitted entry: the 46-byte record plus a generous name,
#: extra field and comment. Bounds what ``zipfile`` parses into memory when it opens the archive.
_CD_BYTES_PER_ENTRY: Final = 46 + 1024
_READ_ERRORS: Final = (
    zipfile.BadZipFile,
    zlib.error,
    struct.error,
    OSError,
    EOFError,
    ValueError,
    RuntimeError,
    OverflowError,
)


def _directory_totals(path: str, size: int) -> tuple[int, int] | None:
    """(entry count, central directory bytes) from the end record, or None if there is none."""
    with open(path, "rb") as f:
        tail_len = min(size, _EOCD.size + 0xFFFF)
        f.seek(size - tail_len)
        tail = f.read(tail_len)
        pos = tail.rfind(b"PK\x05\x06")
        if pos < 0 or pos + _EOCD.size > len(tail):
            return None
        _, _, _, _, count, cd_size, cd_offset, _ = _EOCD.unpack_from(tail, pos)
        locator = pos - _ZIP64_LOCATOR.size
        is_zip64 = count == 0xFFFF or 0xFFFFFFFF in (cd_size, cd_offset)
        if is_zip64 and locator >= 0 and tail[locator : locator + 4] == b"PK\x06\x07":
            _, _, z64_offset, _ = _ZIP64_LOCATOR.unpack_from(tail, locator)
            f.seek(min(z64_offset, size))
            record = f.read(_ZIP64_EOCD.size)
            if len(record) == _ZIP64_EOCD.size and record[:4] == b"PK\x06\x06":
                count, cd_size = _ZIP64_EOCD.unpack(record)[7:9]
        return count, cd_size


def _looks_like_zip_start(path: str) -> bool:
    with open(path, "rb") as f:
        return f.read(4) in (b"PK\x03\x04", b"PK\x05\x06")


def _check_directory(path: str, size: int, limits: ArchiveLimits) -> None:
    try:
        totals = _directory_totals(path, size)
    except OSError as exc:
        raise _fail("validation_not_zip", f"The archive cannot be read: {exc}") from exc
    if totals is None:
        if _looks_like_zip_start(path):
            raise _fail("validation_corrupt", "The ZIP archive is truncated (no end record).")
        raise _fail("validation_not_zip", "The upload is not a ZIP archive.")
    count, cd_size = totals
    if count > limits.max_entries or cd_size > limits.max_entries * _CD_BYTES_PER_ENTRY:
        raise _fail(
            "validation_too_many_entries",
            f"The archive has more than {limits.max_entries} entries.",
            entries=count,
            limit=limits.max_entries,
        )


def _open_zip(path: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except _READ_ERRORS as exc:
        code = "validation_corrupt" if _looks_like_zip_start(path) else "validation_not_zip"
        raise _fail(code, "The ZIP archive could not be opened.", error=str(exc)) from exc


def _read_entry(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """Read a whole entry, at most ``limit`` bytes. ``zipfile`` never returns more than the declared
    size and checks the CRC at the end, so a header that lies about the size fails here."""
    try:
        with zf.open(info) as f:
            # zipfile inflates up to the requested size per call: ask only for what is declared.
            data = f.read(min(limit, info.file_size) + 1)
    except _READ_ERRORS as exc:
        raise _fail(
            "validation_corrupt",
            f"{info.filename} could not be read: {exc}",
            entry=info.filename,
        ) from exc
    if len(data) > limit:  # only reachable if zipfile stopped honouring the declared size
        raise _fail("validation_corrupt", f"{info.filename} is larger than declared.")
    return data


def _read_prefix(zf: zipfile.ZipFile, info: zipfile.ZipInfo, count: int) -> bytes:
    try:
        with zf.open(info) as f:
            return f.read(count)
    except _READ_ERRORS as exc:
        raise _fail(
            "validation_corrupt", f"{info.filename} could not be read: {exc}", entry=info.filename
        ) from exc


# --------------------------------------------------------------------------------------------
# Entry checks (central directory only, nothing decompressed)


_DRIVE_RE: Final = re.compile(r"[A-Za-z]:")


def _is_unsafe_name(raw_name: str) -> bool:
    if "\\" in raw_name or raw_name.startswith("/") or _DRIVE_RE.match(raw_name):
        return True
    if any(ord(ch) < 32 for ch in raw_name):
        return True
    return any(part == ".." for part in raw_name.split("/"))


def _check_entry(info: zipfile.ZipInfo, archive_size: int, limits: ArchiveLimits) -> None:
    name = info.filename
    if _is_unsafe_name(info.orig_filename):
        raise _fail("validation_unsafe_path", f"Unsafe path in archive: {name!r}.", entry=name)
    if stat.S_ISLNK(info.external_attr >> 16):
        raise _fail("validation_link", f"{name} is a symbolic link.", entry=name)
    if info.flag_bits & 0x1:
        raise _fail("validation_encrypted", f"{name} is encrypted.", entry=name)
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise _fail(
            "validation_corrupt",
            f"{name} uses unsupported compression method {info.compress_type}.",
            entry=name,
        )
    stored_mismatch = info.compress_type == zipfile.ZIP_STORED and (
        info.compress_size != info.file_size
    )
    if stored_mismatch or info.header_offset + info.compress_size > archive_size:
        raise _fail("validation_corrupt", f"{name} has inconsistent sizes.", entry=name)
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > limits.ratio_check_min_bytes and ratio > limits.max_entry_ratio:
        raise _fail(
            "validation_compression_ratio",
            f"{name} expands {ratio:.0f}x (limit {limits.max_entry_ratio:.0f}x).",
            entry=name,
            ratio=round(ratio, 1),
            limit=limits.max_entry_ratio,
        )


@dataclass
class _Entries:
    frames: list[zipfile.ZipInfo]
    timing: zipfile.ZipInfo | None = None
    metadata: zipfile.ZipInfo | None = None
    ignored: list[str] = field(default_factory=list)


def _scan_entries(zf: zipfile.ZipFile, archive_size: int, limits: ArchiveLimits) -> _Entries:
    infos = zf.infolist()
    if len(infos) > limits.max_entries:
        raise _fail(
            "validation_too_many_entries",
            f"The archive has {len(infos)} entries (limit {limits.max_entries}).",
            entries=len(infos),
            limit=limits.max_entries,
        )
    seen: set[str] = set()
    total = 0
    for info in infos:
        _check_entry(info, archive_size, limits)
        if info.filename in seen:
            raise _fail(
                "validation_duplicate_entry",
                f"{info.filename} appears twice in the archive.",
                entry=info.filename,
            )
        seen.add(info.filename)
        total += info.file_size
        if total > limits.max_uncompressed_bytes:
            raise _fail(
                "validation_uncompressed_too_large",
                f"The archive expands to more than {limits.max_uncompressed_bytes} bytes.",
                limit=limits.max_uncompressed_bytes,
            )
    return _classify(infos, limits)


def _classify(infos: list[zipfile.ZipInfo], limits: ArchiveLimits) -> _Entries:
    entries = _Entries(frames=[])
    misnamed: list[str] = []
    for info in infos:
        name = info.filename
        if name == TIMING_NAME:
            entries.timing = info
        elif name == METADATA_NAME:
            entries.metadata = info
        elif FRAME_NAME_RE.fullmatch(name):
            entries.frames.append(info)
        elif "/" not in name and name.lower().endswith(".png"):
            misnamed.append(name)
        else:
            entries.ignored.append(name)
    if misnamed:
        raise _fail(
            "validation_frame_names",
            f"Frame files must be named frameNNNNNN.png; found {misnamed[0]!r}.",
            entries=misnamed[:10],
        )
    _check_frame_set(entries.frames, limits)
    entries.frames.sort(key=lambda info: info.filename)
    return entries


def _check_frame_set(frames: list[zipfile.ZipInfo], limits: ArchiveLimits) -> None:
    if not frames:
        raise _fail("validation_no_frames", "The archive contains no frameNNNNNN.png files.")
    if len(frames) > limits.max_frames:
        raise _fail(
            "validation_too_many_frames",
            f"The tape has {len(frames)} frames (limit {limits.max_frames}).",
            frames=len(frames),
            limit=limits.max_frames,
        )
    indices = sorted(int(info.filename[5:11]) for info in frames)  # names matched FRAME_NAME_RE
    missing = next((i for i, index in enumerate(indices) if i != index), None)
    if missing is not None:
        raise _fail(
            "validation_frame_names",
            f"Frames must be numbered contiguously from frame000000.png; frame{missing:06d}.png "
            "is missing.",
            missing=f"frame{missing:06d}.png",
        )


# --------------------------------------------------------------------------------------------
# JSON documents


def _read_json(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo | None, kind: str, limits: ArchiveLimits
) -> Any:
    name = f"{kind}.json"
    if info is None:
        raise _fail(f"validation_{kind}_missing", f"The archive has no {name}.")
    malformed = f"validation_{kind}_malformed"
    if info.file_size > limits.max_json_bytes:
        raise _fail(
            malformed,
            f"{name} is {info.file_size} bytes (limit {limits.max_json_bytes}).",
            limit=limits.max_json_bytes,
        )
    raw = _read_entry(zf, info, limits.max_json_bytes)
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _fail(malformed, f"{name} is not valid JSON: {exc}", error=str(exc)) from exc


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _parse_timing(doc: Any) -> list[tuple[str, Any]]:
    def bad(message: str, index: int | None = None) -> ArchiveError:
        return _fail("validation_timing_malformed", message, index=index)

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


def _match_timing(rows: list[tuple[str, Any]], frame_names: list[str]) -> None:
    if len(rows) != len(frame_names):
        raise _fail(
            "validation_timing_mismatch",
            f"timing.json lists {len(rows)} frames but the archive has {len(frame_names)}.",
            timing_entries=len(rows),
            frame_files=len(frame_names),
        )
    for index, ((listed, _), actual) in enumerate(zip(rows, frame_names, strict=True)):
        if listed != actual:
            raise _fail(
                "validation_timing_mismatch",
                f"timing.json entry {index} names {listed!r}, expected {actual!r}.",
                index=index,
                timing=listed,
                frame=actual,
            )


def _check_durations(rows: list[tuple[str, Any]], limits: ArchiveLimits) -> tuple[float, ...]:
    durations: list[float] = []
    for index, (name, value) in enumerate(rows):
        valid = _is_number(value) and math.isfinite(value)
        if not valid or not (limits.min_frame_duration_ms <= value <= limits.max_frame_duration_ms):
            raise _fail(
                "validation_duration_invalid",
                f"{name} has duration {_clip(repr(value), 40)}; durations must be numbers of "
                f"ms in [{limits.min_frame_duration_ms}, {limits.max_frame_duration_ms}].",
                index=index,
                entry=name,
                duration=value if valid else repr(value),
            )
        durations.append(float(value))
    total = math.fsum(durations)
    if total > limits.max_duration_ms:
        raise _fail(
            "validation_too_long",
            f"The tape lasts {total / 1000:.1f} s (limit {limits.max_duration_ms / 1000:.1f} s).",
            duration_ms=total,
            limit=limits.max_duration_ms,
        )
    return tuple(durations)


@dataclass(frozen=True)
class _Claims:
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
        return _fail(
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


def _parse_metadata(doc: Any) -> _Claims:
    if not isinstance(doc, dict):
        raise _fail("validation_metadata_malformed", "metadata.json must be a JSON object.")
    meta = _Meta(doc)
    if "resolution" not in doc and any(key in doc for key in _LEGACY_KEYS):
        stored, base = meta.get_size("scaledSize"), meta.get_size("originalSize")
        return _Claims(
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
    return _Claims(
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


# --------------------------------------------------------------------------------------------
# Frames


def _check_frame_headers(
    zf: zipfile.ZipFile, frames: list[zipfile.ZipInfo], limits: ArchiveLimits
) -> list[_PngHeader]:
    headers: list[_PngHeader] = []
    for index, info in enumerate(frames):
        header = _parse_png_header(_read_prefix(zf, info, _PNG_HEAD_BYTES), info.filename)
        if index == 0 and (header.width > limits.max_width or header.height > limits.max_height):
            raise _fail(
                "validation_dimensions",
                f"Frames are {header.width}x{header.height}; the limit is "
                f"{limits.max_width}x{limits.max_height}.",
                width=header.width,
                height=header.height,
            )
        first = headers[0] if headers else header
        if (header.width, header.height) != (first.width, first.height):
            raise _fail(
                "validation_frame_size_mismatch",
                f"{info.filename} is {header.width}x{header.height}, frame000000.png is "
                f"{first.width}x{first.height}.",
                entry=info.filename,
            )
        if info.file_size > header.max_file_bytes():
            raise _fail(
                "validation_uncompressed_too_large",
                f"{info.filename} declares {info.file_size} bytes, more than any "
                f"{header.width}x{header.height} PNG needs.",
                entry=info.filename,
            )
        headers.append(header)
    return headers


def _is_block_constant(image: np.ndarray, factor: int) -> bool:
    if factor == 1:
        return True
    h, w = image.shape[:2]
    blocks = image.reshape(h // factor, factor, w // factor, factor, -1)
    return bool((blocks == blocks[:, :1, :, :1, :]).all())


def _divisors_descending(n: int) -> list[int]:
    return [d for d in range(n, 0, -1) if n % d == 0]


def _verify_scale(
    zf: zipfile.ZipFile, frames: list[zipfile.ZipInfo], header: _PngHeader, claimed: int
) -> int:
    """The largest factor dividing the claimed scale and both sides of the frames over whose
    blocks the first and last frames are constant. Checking two frames (not all) keeps inspection
    cheap; a frame that breaks the pattern later is still encoded, just subsampled."""
    candidates = _divisors_descending(math.gcd(claimed, header.width, header.height))
    if candidates == [1]:
        return 1
    samples = [frames[0]] if len(frames) == 1 else [frames[0], frames[-1]]
    images = [
        _decode_png(
            _read_entry(zf, info, header.max_file_bytes()),
            info.filename,
            header.width,
            header.height,
        )
        for info in samples
    ]
    return next(f for f in candidates if all(_is_block_constant(im, f) for im in images))


def _duration_tolerance(total_ms: float) -> float:
    # Recorders measure the duration with their own clock; only a real disagreement is news.
    return max(20.0, 0.01 * total_ms)


def _discrepancies(claims: _Claims, actual: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def note(name: str, claimed: Any, real: Any) -> None:
        if claimed is not None and claimed != real:
            found.append({"field": name, "metadata": claimed, "actual": real})

    note("frames", claims.frames, actual["frames"])
    if claims.duration_ms is not None:
        off = abs(claims.duration_ms - actual["total_duration_ms"])
        if off > _duration_tolerance(actual["total_duration_ms"]):
            note("total_duration_ms", claims.duration_ms, actual["total_duration_ms"])
    note("scale", claims.scale, actual["scale"])
    if claims.stored_size is not None:
        note("stored_width", claims.stored_size[0], actual["stored_width"])
        note("stored_height", claims.stored_size[1], actual["stored_height"])
    if claims.base_size is not None:
        note("width", claims.base_size[0], actual["width"])
        note("height", claims.base_size[1], actual["height"])
    return found


# --------------------------------------------------------------------------------------------
# Public API


def _check_archive_size(path: str, limits: ArchiveLimits) -> int:
    try:
        status = os.stat(path)
    except OSError as exc:
        raise _fail("validation_not_zip", f"The archive cannot be read: {exc}") from exc
    if not stat.S_ISREG(status.st_mode):
        raise _fail("validation_not_zip", "The archive is not a regular file.")
    size = status.st_size
    if size > limits.max_archive_bytes:
        raise _fail(
            "validation_archive_too_large",
            f"The archive is {size} bytes (limit {limits.max_archive_bytes}).",
            size=size,
            limit=limits.max_archive_bytes,
        )
    return size


def inspect_archive(
    path: str | os.PathLike[str], limits: ArchiveLimits = DEFAULT_LIMITS
) -> TapeInfo:
    """Validate the tape archive at ``path`` and describe it; raise :class:`ArchiveError` on the
    first problem. Decompresses only the two JSON files, 33 bytes of each frame and the first and
    last frames (to verify the scale)."""
    path = os.fspath(path)
    size = _check_archive_size(path, limits)
    _check_directory(path, size, limits)
    with _open_zip(path) as zf:
        entries = _scan_entries(zf, size, limits)
        frame_names = [info.filename for info in entries.frames]
        rows = _parse_timing(_read_json(zf, entries.timing, "timing", limits))
        claims = _parse_metadata(raw_meta := _read_json(zf, entries.metadata, "metadata", limits))
        _match_timing(rows, frame_names)
        durations = _check_durations(rows, limits)
        headers = _check_frame_headers(zf, entries.frames, limits)
        first = headers[0]
        scale = _verify_scale(zf, entries.frames, first, claims.scale or 1)
    width, height = first.width // scale, first.height // scale
    if width > limits.max_base_width or height > limits.max_base_height:
        raise _fail(
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


def _frame_byte_bound(info: TapeInfo) -> int:
    # The widest PNG of the stored size: 16-bit RGBA.
    return _PngHeader(info.stored_width, info.stored_height, 16, 6).max_file_bytes()


def _load_frame(zf: zipfile.ZipFile, entry: zipfile.ZipInfo, info: TapeInfo) -> np.ndarray:
    data = _read_entry(zf, entry, _frame_byte_bound(info))
    image = _decode_png(data, entry.filename, info.stored_width, info.stored_height)
    del data
    return to_rgb8(image[:: info.scale, :: info.scale])


def _frame_entries(zf: zipfile.ZipFile, info: TapeInfo) -> list[zipfile.ZipInfo]:
    bound = _frame_byte_bound(info)
    entries = []
    for name in info.frame_names:
        try:
            entry = zf.getinfo(name)
        except KeyError:
            raise _fail("validation_corrupt", f"{name} vanished from the archive.") from None
        if entry.file_size > bound:
            raise _fail("validation_uncompressed_too_large", f"{name} is too large.", entry=name)
        entries.append(entry)
    return entries


def iter_frames(
    path: str | os.PathLike[str], info: TapeInfo, *, threads: int = 2
) -> Generator[np.ndarray, None, None]:
    """Yield every frame of an inspected tape, in order, as a C-contiguous RGB uint8 array of the
    1x size (``info.height, info.width, 3``). Alpha is composited over black.

    Frames are decoded ahead in ``threads`` threads (libpng releases the GIL) with at most
    ``2 * threads`` frames in flight, so memory stays at a few frames whatever the tape's length.
    """
    workers = max(1, threads)
    window = 2 * workers
    with (
        _open_zip(os.fspath(path)) as zf,
        ThreadPoolExecutor(workers, thread_name_prefix="tape-png") as pool,
    ):
        pending: deque[Future[np.ndarray]] = deque()
        try:
            for entry in _frame_entries(zf, info):
                pending.append(pool.submit(_load_frame, zf, entry, info))
                if len(pending) >= window:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:  # consumer stopped early or a frame failed
                future.cancel()
