"""ZIP plumbing: the file and its central directory checked before ``zipfile`` parses them,
and bounded reads of single entries."""

from __future__ import annotations

import os
import stat
import struct
import zipfile
import zlib
from typing import Final

from tapes.archive.errors import fail
from tapes.archive.limits import ArchiveLimits

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


def check_archive_size(path: str, limits: ArchiveLimits) -> int:
    try:
        status = os.stat(path)
    except OSError as exc:
        raise fail("validation_not_zip", f"The archive cannot be read: {exc}") from exc
    if not stat.S_ISREG(status.st_mode):
        raise fail("validation_not_zip", "The archive is not a regular file.")
    size = status.st_size
    if size > limits.max_archive_bytes:
        raise fail(
            "validation_archive_too_large",
            f"The archive is {size} bytes (limit {limits.max_archive_bytes}).",
            size=size,
            limit=limits.max_archive_bytes,
        )
    return size


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


def check_directory(path: str, size: int, limits: ArchiveLimits) -> None:
    try:
        totals = _directory_totals(path, size)
    except OSError as exc:
        raise fail("validation_not_zip", f"The archive cannot be read: {exc}") from exc
    if totals is None:
        if _looks_like_zip_start(path):
            raise fail("validation_corrupt", "The ZIP archive is truncated (no end record).")
        raise fail("validation_not_zip", "The upload is not a ZIP archive.")
    count, cd_size = totals
    if count > limits.max_entries or cd_size > limits.max_entries * _CD_BYTES_PER_ENTRY:
        raise fail(
            "validation_too_many_entries",
            f"The archive has more than {limits.max_entries} entries.",
            entries=count,
            limit=limits.max_entries,
        )


def open_zip(path: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except _READ_ERRORS as exc:
        code = "validation_corrupt" if _looks_like_zip_start(path) else "validation_not_zip"
        raise fail(code, "The ZIP archive could not be opened.", error=str(exc)) from exc


def read_entry(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """Read a whole entry, at most ``limit`` bytes. ``zipfile`` never returns more than the declared
    size and checks the CRC at the end, so a header that lies about the size fails here."""
    try:
        with zf.open(info) as f:
            # zipfile inflates up to the requested size per call: ask only for what is declared.
            data = f.read(min(limit, info.file_size) + 1)
    except _READ_ERRORS as exc:
        raise fail(
            "validation_corrupt",
            f"{info.filename} could not be read: {exc}",
            entry=info.filename,
        ) from exc
    if len(data) > limit:  # only reachable if zipfile stopped honouring the declared size
        raise fail("validation_corrupt", f"{info.filename} is larger than declared.")
    return data


def read_prefix(zf: zipfile.ZipFile, info: zipfile.ZipInfo, count: int) -> bytes:
    try:
        with zf.open(info) as f:
            return f.read(count)
    except _READ_ERRORS as exc:
        raise fail(
            "validation_corrupt", f"{info.filename} could not be read: {exc}", entry=info.filename
        ) from exc
