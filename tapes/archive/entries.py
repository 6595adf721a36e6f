"""Entry checks from the central directory alone (nothing decompressed): safe names, no links or
encryption, honest sizes and ratios, and which entries are frames, timing and metadata."""

from __future__ import annotations

import re
import stat
import zipfile
from dataclasses import dataclass, field
from typing import Final

from tapes.archive.errors import fail
from tapes.archive.limits import ArchiveLimits

FRAME_NAME_RE: Final = re.compile(r"frame([0-9]{6})\.png")  # ASCII digits only
TIMING_NAME: Final = "timing.json"
METADATA_NAME: Final = "metadata.json"
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
        raise fail("validation_unsafe_path", f"Unsafe path in archive: {name!r}.", entry=name)
    if stat.S_ISLNK(info.external_attr >> 16):
        raise fail("validation_link", f"{name} is a symbolic link.", entry=name)
    if info.flag_bits & 0x1:
        raise fail("validation_encrypted", f"{name} is encrypted.", entry=name)
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise fail(
            "validation_corrupt",
            f"{name} uses unsupported compression method {info.compress_type}.",
            entry=name,
        )
    stored_mismatch = info.compress_type == zipfile.ZIP_STORED and (
        info.compress_size != info.file_size
    )
    if stored_mismatch or info.header_offset + info.compress_size > archive_size:
        raise fail("validation_corrupt", f"{name} has inconsistent sizes.", entry=name)
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > limits.ratio_check_min_bytes and ratio > limits.max_entry_ratio:
        raise fail(
            "validation_compression_ratio",
            f"{name} expands {ratio:.0f}x (limit {limits.max_entry_ratio:.0f}x).",
            entry=name,
            ratio=round(ratio, 1),
            limit=limits.max_entry_ratio,
        )


@dataclass
class Entries:
    frames: list[zipfile.ZipInfo]
    timing: zipfile.ZipInfo | None = None
    metadata: zipfile.ZipInfo | None = None
    ignored: list[str] = field(default_factory=list)


def scan_entries(zf: zipfile.ZipFile, archive_size: int, limits: ArchiveLimits) -> Entries:
    infos = zf.infolist()
    if len(infos) > limits.max_entries:
        raise fail(
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
            raise fail(
                "validation_duplicate_entry",
                f"{info.filename} appears twice in the archive.",
                entry=info.filename,
            )
        seen.add(info.filename)
        total += info.file_size
        if total > limits.max_uncompressed_bytes:
            raise fail(
                "validation_uncompressed_too_large",
                f"The archive expands to more than {limits.max_uncompressed_bytes} bytes.",
                limit=limits.max_uncompressed_bytes,
            )
    return _classify(infos, limits)


def _classify(infos: list[zipfile.ZipInfo], limits: ArchiveLimits) -> Entries:
    entries = Entries(frames=[])
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
        raise fail(
            "validation_frame_names",
            f"Frame files must be named frameNNNNNN.png; found {misnamed[0]!r}.",
            entries=misnamed[:10],
        )
    _check_frame_set(entries.frames, limits)
    entries.frames.sort(key=lambda info: info.filename)
    return entries


def _check_frame_set(frames: list[zipfile.ZipInfo], limits: ArchiveLimits) -> None:
    if not frames:
        raise fail("validation_no_frames", "The archive contains no frameNNNNNN.png files.")
    if len(frames) > limits.max_frames:
        raise fail(
            "validation_too_many_frames",
            f"The tape has {len(frames)} frames (limit {limits.max_frames}).",
            frames=len(frames),
            limit=limits.max_frames,
        )
    indices = sorted(int(info.filename[5:11]) for info in frames)  # names matched FRAME_NAME_RE
    missing = next((i for i, index in enumerate(indices) if i != index), None)
    if missing is not None:
        raise fail(
            "validation_frame_names",
            f"Frames must be numbered contiguously from frame000000.png; frame{missing:06d}.png "
            "is missing.",
            missing=f"frame{missing:06d}.png",
        )
