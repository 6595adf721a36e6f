"""A corpus of bad tape archives, at least one per ``validation_*`` code.

Each :class:`Case` builds one archive in a directory and names the code :func:`inspect_archive`
(or, for ``stage="iter"``, :func:`iter_frames`) must raise, with the limits to use. Archives that
``zipfile`` refuses to write (lying sizes, encrypted flags, symlinks, duplicates, odd methods) are
written byte by byte with :func:`write_raw_zip`.
"""

from __future__ import annotations

import io
import json
import math
import struct
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from tests.support.synth import (
    encode_png,
    frame_name,
    json_bytes,
    make_frame,
    metadata_document,
    timing_document,
    upscale,
    write_zip,
)

Entries = list[tuple[str, bytes]]


# --------------------------------------------------------------------------------------------
# Building blocks


def tiny_png(index: int = 0, *, width: int = 8, height: int = 8, scale: int = 2) -> bytes:
    return encode_png(upscale(make_frame(index, width=width, height=height, pattern="bars"), scale))


def tape_entries(
    frames: int = 3,
    *,
    width: int = 8,
    height: int = 8,
    scale: int = 2,
    durations: Sequence[Any] | None = None,
    metadata: dict[str, Any] | None = None,
) -> Entries:
    """A small valid tape as ZIP entries, ready to be spoiled."""
    durations = list(durations) if durations is not None else [16.7] * frames
    meta = metadata_document(
        piece="bad",
        frames=frames,
        durations_ms=[d for d in durations if _is_finite_number(d)],
        width=width,
        height=height,
        scale=scale,
        overrides=metadata,
    )
    pngs = [
        (frame_name(i), tiny_png(i, width=width, height=height, scale=scale)) for i in range(frames)
    ]
    return [
        *pngs,
        ("timing.json", json_bytes(timing_document(durations))),
        ("metadata.json", json_bytes(meta)),
    ]


def _is_finite_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def replace(entries: Entries, name: str, data: bytes | None) -> Entries:
    """Entries with ``name`` replaced by ``data`` (or dropped when ``data`` is None)."""
    out = [(n, d if n != name else data) for n, d in entries]
    return [(n, d) for n, d in out if d is not None]


def deflate(data: bytes, level: int = 6) -> bytes:
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def zeros_bomb(size: int) -> bytes:
    """A raw deflate stream that really inflates to ``size`` zero bytes (a multiple of 4 MiB),
    built in milliseconds: after a full flush, 4 MiB more of zeros always compress the same."""
    chunk = bytes(4 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeat = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    count = size // len(chunk)
    return first + repeat * (count - 1) + compressor.flush()


@dataclass
class RawEntry:
    """One entry exactly as written: ``data`` is the stored (maybe compressed) payload and every
    header field can lie."""

    name: str | bytes
    data: bytes
    method: int = zipfile.ZIP_STORED
    file_size: int | None = None  # declared uncompressed size; default len(data)
    compress_size: int | None = None  # declared; default len(data)
    crc: int | None = None  # default CRC of data (right only for stored entries)
    flags: int = 0
    external_attr: int = 0o100644 << 16
    create_system: int = 3  # unix

    @classmethod
    def deflated(cls, name: str, payload: bytes, **kwargs: Any) -> RawEntry:
        kwargs.setdefault("file_size", len(payload))
        kwargs.setdefault("crc", zlib.crc32(payload))
        return cls(name, deflate(payload), method=zipfile.ZIP_DEFLATED, **kwargs)


_LOCAL = struct.Struct("<4s5H3L2H")
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_END = struct.Struct("<4s4H2LH")
_DOS_TIME, _DOS_DATE = 0, (45 << 9) | (10 << 5) | 17  # 2025-10-17


def write_raw_zip(path: Path, entries: Sequence[RawEntry], *, end_count: int | None = None) -> Path:
    central = bytearray()
    with open(path, "wb") as f:
        for entry in entries:
            name = entry.name.encode() if isinstance(entry.name, str) else entry.name
            crc = zlib.crc32(entry.data) if entry.crc is None else entry.crc
            usize = len(entry.data) if entry.file_size is None else entry.file_size
            csize = len(entry.data) if entry.compress_size is None else entry.compress_size
            common = (entry.flags, entry.method, _DOS_TIME, _DOS_DATE, crc, csize, usize)
            offset = f.tell()
            f.write(_LOCAL.pack(b"PK\x03\x04", 20, *common, len(name), 0) + name + entry.data)
            central += _CENTRAL.pack(
                b"PK\x01\x02",
                (entry.create_system << 8) | 20,
                20,
                *common,
                len(name),
                0,
                0,
                0,
                0,
                entry.external_attr,
                offset,
            )
            central += name
        cd_offset = f.tell()
        f.write(central)
        count = len(entries) if end_count is None else end_count
        f.write(_END.pack(b"PK\x05\x06", 0, 0, count, count, len(central), cd_offset, 0))
    return path


def raw_tape(**kwargs: Any) -> list[RawEntry]:
    return [RawEntry(name, data) for name, data in tape_entries(**kwargs)]


# --------------------------------------------------------------------------------------------
# The corpus


@dataclass(frozen=True)
class Case:
    id: str
    code: str
    build: Callable[[Path], Path]
    limits: dict[str, Any] = field(default_factory=dict)
    stage: Literal["inspect", "iter"] = "inspect"


CASES: list[Case] = []


def case(
    code: str,
    *,
    limits: dict[str, Any] | None = None,
    stage: Literal["inspect", "iter"] = "inspect",
) -> Callable[[Callable[[Path], Path]], Callable[[Path], Path]]:
    def register(build: Callable[[Path], Path]) -> Callable[[Path], Path]:
        CASES.append(Case(build.__name__, code, build, limits or {}, stage))
        return build

    return register


def _zip(directory: Path, entries: Entries, name: str = "tape.zip", **kwargs: Any) -> Path:
    return write_zip(directory / name, entries, **kwargs)


def _timing(directory: Path, document: Any) -> Path:
    return _zip(directory, replace(tape_entries(), "timing.json", json.dumps(document).encode()))


def _metadata(directory: Path, document: Any) -> Path:
    return _zip(directory, replace(tape_entries(), "metadata.json", json.dumps(document).encode()))


# validation_not_zip


@case("validation_not_zip")
def text_file(d: Path) -> Path:
    (d / "tape.zip").write_text("hello, this is not a zip\n" * 10)
    return d / "tape.zip"


@case("validation_not_zip")
def empty_file(d: Path) -> Path:
    (d / "tape.zip").write_bytes(b"")
    return d / "tape.zip"


@case("validation_not_zip")
def png_file(d: Path) -> Path:
    (d / "tape.zip").write_bytes(tiny_png())
    return d / "tape.zip"


# validation_archive_too_large


@case("validation_archive_too_large", limits={"max_archive_bytes": 1000})
def over_archive_limit(d: Path) -> Path:
    return _zip(d, tape_entries())


# validation_encrypted


@case("validation_encrypted")
def encrypted_frame(d: Path) -> Path:
    entries = raw_tape()
    entries[0].flags |= 0x1
    return write_raw_zip(d / "tape.zip", entries)


# validation_corrupt


@case("validation_corrupt")
def truncated_archive(d: Path) -> Path:
    path = _zip(d, tape_entries())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


@case("validation_corrupt")
def bad_crc(d: Path) -> Path:
    entries = raw_tape()
    timing = next(e for e in entries if e.name == "timing.json")
    timing.crc = (zlib.crc32(timing.data) + 1) & 0xFFFFFFFF
    return write_raw_zip(d / "tape.zip", entries)


@case("validation_corrupt")
def unsupported_method(d: Path) -> Path:
    entries = raw_tape()
    entries[0].method = 12  # bzip2: legal ZIP, not something a browser writes
    return write_raw_zip(d / "tape.zip", entries)


@case("validation_corrupt")
def stored_sizes_disagree(d: Path) -> Path:
    entries = raw_tape()
    entries[1].file_size = len(entries[1].data) * 4
    return write_raw_zip(d / "tape.zip", entries)


@case("validation_corrupt")
def entry_beyond_end(d: Path) -> Path:
    entries = raw_tape()
    entries[0].compress_size = entries[0].file_size = 10_000_000
    return write_raw_zip(d / "tape.zip", entries)


@case("validation_corrupt")
def bad_ihdr_crc(d: Path) -> Path:
    png = bytearray(tiny_png())
    png[29] ^= 0xFF  # first byte of the IHDR CRC
    return _zip(d, replace(tape_entries(), frame_name(1), bytes(png)))


@case("validation_corrupt")
def truncated_png(d: Path) -> Path:
    return _zip(d, replace(tape_entries(), frame_name(2), tiny_png()[:20]))


@case("validation_corrupt")
def garbage_first_frame(d: Path) -> Path:
    # Valid signature and IHDR, garbage after: found when the scale is verified (first frame).
    png = tiny_png()
    return _zip(d, replace(tape_entries(), frame_name(0), png[:33] + b"\x00garbage" * 20))


@case("validation_corrupt", stage="iter")
def garbage_middle_frame(d: Path) -> Path:
    # inspect_archive decodes only the first and last frames; iter_frames finds this one.
    png = tiny_png(1)
    return _zip(d, replace(tape_entries(), frame_name(1), png[:33] + b"\x00garbage" * 20))


@case("validation_corrupt")
def lying_header_full_crc(d: Path) -> Path:
    # Declares 300 bytes, inflates to 64 MiB; the CRC is of the full payload, so the bounded
    # read (300 bytes) fails the CRC check.
    payload = json_bytes(timing_document([16.7] * 3)) + b" " * (64 << 20)
    entries = replace(tape_entries(), "timing.json", None)
    raw = [RawEntry(n, data) for n, data in entries]
    raw.append(RawEntry.deflated("timing.json", payload, file_size=300))
    return write_raw_zip(d / "tape.zip", raw)


# validation_unsafe_path


def _with_extra(d: Path, name: str | bytes) -> Path:
    return write_raw_zip(d / "tape.zip", [*raw_tape(), RawEntry(name, b"x")])


@case("validation_unsafe_path")
def dot_dot(d: Path) -> Path:
    return _with_extra(d, "../evil.txt")


@case("validation_unsafe_path")
def nested_dot_dot(d: Path) -> Path:
    return _with_extra(d, "a/../../evil.txt")


@case("validation_unsafe_path")
def absolute(d: Path) -> Path:
    return _with_extra(d, "/etc/evil")


@case("validation_unsafe_path")
def backslash(d: Path) -> Path:
    return _with_extra(d, "..\\evil.txt")


@case("validation_unsafe_path")
def drive_letter(d: Path) -> Path:
    return _with_extra(d, "C:evil.txt")


@case("validation_unsafe_path")
def nul_byte(d: Path) -> Path:
    return _with_extra(d, b"notes.txt\x00../../evil")


# validation_link


@case("validation_link")
def symlink_entry(d: Path) -> Path:
    link = RawEntry("notes.txt", b"/etc/passwd", external_attr=0o120777 << 16)
    return write_raw_zip(d / "tape.zip", [*raw_tape(), link])


@case("validation_link")
def symlink_frame(d: Path) -> Path:
    entries = raw_tape()
    entries[0].external_attr = 0o120777 << 16
    return write_raw_zip(d / "tape.zip", entries)


# validation_duplicate_entry


@case("validation_duplicate_entry")
def duplicate_frame(d: Path) -> Path:
    entries = raw_tape()
    return write_raw_zip(d / "tape.zip", [*entries, RawEntry(frame_name(0), entries[1].data)])


# validation_too_many_entries


@case("validation_too_many_entries")
def twenty_thousand_and_one(d: Path) -> Path:
    extra = [RawEntry(f"x{i}", b"") for i in range(20_001)]
    return write_raw_zip(d / "tape.zip", [*raw_tape(), *extra])


@case("validation_too_many_entries")
def lying_end_record(d: Path) -> Path:
    # The end record says 3 entries; the directory really has 20 000+: zipfile would parse them all.
    extra = [RawEntry(f"x{i}", b"", external_attr=0) for i in range(20_001)]
    return write_raw_zip(d / "tape.zip", [*raw_tape(), *extra], end_count=3)


@case("validation_too_many_entries", limits={"max_entries": 4})
def over_entry_limit(d: Path) -> Path:
    return _zip(d, tape_entries())


# validation_uncompressed_too_large


@case("validation_uncompressed_too_large")
def many_megabytes(d: Path) -> Path:
    # 2100 entries each declaring 1 MiB (below the ratio check's threshold): 2.05 GiB in total.
    filler = [
        RawEntry(f"pad{i}.bin", b"\x03\x00", method=zipfile.ZIP_DEFLATED, file_size=1 << 20)
        for i in range(2100)
    ]
    return write_raw_zip(d / "tape.zip", [*raw_tape(), *filler])


@case("validation_uncompressed_too_large", limits={"max_uncompressed_bytes": 500})
def over_uncompressed_limit(d: Path) -> Path:
    return _zip(d, tape_entries())


@case("validation_uncompressed_too_large")
def frame_larger_than_any_png(d: Path) -> Path:
    junk = np.random.default_rng(0).integers(256, size=(3 << 20) // 2, dtype=np.uint8).tobytes()
    return _zip(d, replace(tape_entries(), frame_name(1), tiny_png(1) + junk))


# validation_compression_ratio


@case("validation_compression_ratio")
def ten_megabytes_of_zeros(d: Path) -> Path:
    entries = tape_entries()
    return _zip(d, [*entries, ("zeros.bin", bytes(10 << 20))], compression=zipfile.ZIP_DEFLATED)


@case("validation_compression_ratio")
def gigabyte_bomb(d: Path) -> Path:
    bomb = RawEntry("bomb.bin", zeros_bomb(3 << 30), method=zipfile.ZIP_DEFLATED, file_size=3 << 30)
    return write_raw_zip(d / "tape.zip", [*raw_tape(), bomb])


# validation_no_frames


@case("validation_no_frames")
def json_only(d: Path) -> Path:
    return _zip(d, [(n, b) for n, b in tape_entries() if n.endswith(".json")])


@case("validation_no_frames")
def empty_zip(d: Path) -> Path:
    return _zip(d, [])


@case("validation_no_frames")
def frames_in_a_folder(d: Path) -> Path:
    return _zip(d, [(n if n.endswith(".json") else f"tape/{n}", b) for n, b in tape_entries()])


# validation_too_many_frames


@case("validation_too_many_frames")
def three_thousand_six_hundred_and_one(d: Path) -> Path:
    png = tiny_png(width=1, height=1, scale=1)
    return _zip(d, [(frame_name(i), png) for i in range(3601)])


@case("validation_too_many_frames", limits={"max_frames": 2})
def over_frame_limit(d: Path) -> Path:
    return _zip(d, tape_entries())


# validation_too_long


@case("validation_too_long")
def sixty_three_seconds(d: Path) -> Path:
    return _zip(d, tape_entries(7, durations=[9000] * 7))


# validation_dimensions


def _sized(d: Path, width: int, height: int, scale: int) -> Path:
    return _zip(d, tape_entries(2, width=width, height=height, scale=scale))


@case("validation_dimensions")
def too_wide(d: Path) -> Path:
    return _sized(d, 4097, 1, 1)


@case("validation_dimensions")
def too_tall(d: Path) -> Path:
    return _sized(d, 1, 4097, 1)


@case("validation_dimensions")
def base_too_wide(d: Path) -> Path:
    return _sized(d, 1025, 2, 1)


@case("validation_dimensions")
def unverified_scale_too_big(d: Path) -> Path:
    # Claims 6x, but the 1200x6 frames are noise, not blocks: the frames win, 1x is 1200 wide.
    noise = np.random.default_rng(1).integers(256, size=(6, 1200, 3), dtype=np.uint8)
    meta = {"piece": "bad", "resolution": {"width": 1200, "height": 6, "scale": 6}}
    return _zip(
        d,
        [
            (frame_name(0), encode_png(noise)),
            ("timing.json", json_bytes(timing_document([16.7]))),
            ("metadata.json", json_bytes(meta)),
        ],
    )


# validation_timing_missing / validation_metadata_missing


@case("validation_timing_missing")
def no_timing(d: Path) -> Path:
    return _zip(d, replace(tape_entries(), "timing.json", None))


@case("validation_metadata_missing")
def no_metadata(d: Path) -> Path:
    return _zip(d, replace(tape_entries(), "metadata.json", None))


# validation_timing_malformed


@case("validation_timing_malformed")
def timing_not_json(d: Path) -> Path:
    return _zip(d, replace(tape_entries(), "timing.json", b"[{'filename': 1}"))


@case("validation_timing_malformed")
def timing_not_utf8(d: Path) -> Path:
    return _zip(d, replace(tape_entries(), "timing.json", b"\xff\xfe[\x00]\x00"))


@case("validation_timing_malformed")
def timing_object(d: Path) -> Path:
    return _timing(d, {"frames": timing_document([16.7] * 3)})


@case("validation_timing_malformed")
def timing_entry_not_object(d: Path) -> Path:
    return _timing(d, [16.7, 16.7, 16.7])


@case("validation_timing_malformed")
def timing_without_filename(d: Path) -> Path:
    return _timing(d, [{"duration": 16.7}] * 3)


@case("validation_timing_malformed")
def timing_without_duration(d: Path) -> Path:
    return _timing(d, [{"filename": frame_name(i)} for i in range(3)])


@case("validation_timing_malformed")
def timing_bad_timestamp(d: Path) -> Path:
    rows = timing_document([16.7] * 3)
    rows[1]["timestamp"] = "soon"
    return _timing(d, rows)


@case("validation_timing_malformed")
def timing_deeply_nested(d: Path) -> Path:
    return _zip(d, replace(tape_entries(), "timing.json", b"[" * 100_000 + b"]" * 100_000))


@case("validation_timing_malformed", limits={"max_json_bytes": 64})
def timing_too_big(d: Path) -> Path:
    return _zip(d, tape_entries())


# validation_metadata_malformed


@case("validation_metadata_malformed")
def metadata_not_json(d: Path) -> Path:
    return _zip(d, replace(tape_entries(), "metadata.json", b"{piece: line}"))


@case("validation_metadata_malformed")
def metadata_list(d: Path) -> Path:
    return _metadata(d, [1, 2, 3])


@case("validation_metadata_malformed")
def metadata_scale_text(d: Path) -> Path:
    return _metadata(d, {"resolution": {"width": 16, "height": 16, "scale": "2"}})


@case("validation_metadata_malformed")
def metadata_scale_zero(d: Path) -> Path:
    return _metadata(d, {"resolution": {"scale": 0}})


@case("validation_metadata_malformed")
def metadata_scale_fraction(d: Path) -> Path:
    return _metadata(d, {"resolution": {"scale": 1.5}})


@case("validation_metadata_malformed")
def metadata_resolution_text(d: Path) -> Path:
    return _metadata(d, {"resolution": "1536x1536"})


@case("validation_metadata_malformed")
def metadata_piece_number(d: Path) -> Path:
    return _metadata(d, {"piece": 7})


@case("validation_metadata_malformed")
def metadata_fps_nan(d: Path) -> Path:
    return _zip(d, replace(tape_entries(), "metadata.json", b'{"piece":"x","fps":NaN}'))


@case("validation_metadata_malformed")
def legacy_metadata_bad_size(d: Path) -> Path:
    return _metadata(d, {"originalSize": {"width": -8, "height": 8}, "frameCount": 3})


# validation_timing_mismatch


@case("validation_timing_mismatch")
def timing_too_short(d: Path) -> Path:
    return _timing(d, timing_document([16.7] * 2))


@case("validation_timing_mismatch")
def timing_too_long(d: Path) -> Path:
    return _timing(d, timing_document([16.7] * 4))


@case("validation_timing_mismatch")
def timing_out_of_order(d: Path) -> Path:
    rows = timing_document([16.7] * 3)
    rows[0], rows[1] = rows[1], rows[0]
    return _timing(d, rows)


@case("validation_timing_mismatch")
def timing_wrong_name(d: Path) -> Path:
    rows = timing_document([16.7] * 3)
    rows[2]["filename"] = "frame000002.jpg"
    return _timing(d, rows)


# validation_duration_invalid


def _durations(d: Path, bad: Any) -> Path:
    return _zip(d, tape_entries(durations=[16.7, bad, 16.7]))


@case("validation_duration_invalid")
def duration_zero(d: Path) -> Path:
    return _durations(d, 0)


@case("validation_duration_invalid")
def duration_negative(d: Path) -> Path:
    return _durations(d, -16.7)


@case("validation_duration_invalid")
def duration_nan(d: Path) -> Path:
    return _durations(d, float("nan"))


@case("validation_duration_invalid")
def duration_infinite(d: Path) -> Path:
    return _durations(d, float("inf"))


@case("validation_duration_invalid")
def duration_text(d: Path) -> Path:
    return _durations(d, "16.7")


@case("validation_duration_invalid")
def duration_null(d: Path) -> Path:
    return _durations(d, None)


@case("validation_duration_invalid")
def duration_bool(d: Path) -> Path:
    return _durations(d, True)


@case("validation_duration_invalid")
def duration_absurd(d: Path) -> Path:
    return _durations(d, 10_001)


# validation_frame_not_png


def _jpeg() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 10, 10)).save(buffer, "JPEG")
    return buffer.getvalue()


@case("validation_frame_not_png")
def jpeg_frame(d: Path) -> Path:
    return _zip(d, replace(tape_entries(), frame_name(1), _jpeg()))


@case("validation_frame_not_png")
def text_frame(d: Path) -> Path:
    return _zip(d, replace(tape_entries(), frame_name(0), b"not a picture"))


@case("validation_frame_not_png")
def empty_frame(d: Path) -> Path:
    return _zip(d, replace(tape_entries(), frame_name(2), b""))


# validation_frame_size_mismatch


@case("validation_frame_size_mismatch")
def odd_frame_out(d: Path) -> Path:
    return _zip(d, replace(tape_entries(), frame_name(1), tiny_png(1, width=9)))


# validation_frame_names


@case("validation_frame_names")
def short_frame_name(d: Path) -> Path:
    return _zip(d, [*tape_entries(), ("frame3.png", tiny_png())])


@case("validation_frame_names")
def upper_case_frame_name(d: Path) -> Path:
    entries = tape_entries()
    return _zip(d, [("FRAME000000.PNG" if n == frame_name(0) else n, b) for n, b in entries])


@case("validation_frame_names")
def gap_in_frames(d: Path) -> Path:
    return _zip(d, replace(tape_entries(), frame_name(1), None))


@case("validation_frame_names")
def starts_at_one(d: Path) -> Path:
    return _zip(d, replace(tape_entries(), frame_name(0), None))
