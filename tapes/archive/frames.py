"""Frames: header checks of every frame, the scale verified on two of them, and the bounded,
threaded decoding of all of them in order (``iter_frames``)."""

from __future__ import annotations

import math
import os
import zipfile
from collections import deque
from collections.abc import Generator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from fractions import Fraction

import numpy as np

from tapes.archive.errors import fail
from tapes.archive.info import TapeInfo
from tapes.archive.limits import ArchiveLimits
from tapes.archive.png import PNG_HEAD_BYTES, PngHeader, decode_png, parse_png_header, to_rgb8
from tapes.archive.reading import open_zip, read_entry, read_prefix


def check_frame_headers(
    zf: zipfile.ZipFile, frames: list[zipfile.ZipInfo], limits: ArchiveLimits
) -> list[PngHeader]:
    headers: list[PngHeader] = []
    for index, info in enumerate(frames):
        header = parse_png_header(read_prefix(zf, info, PNG_HEAD_BYTES), info.filename)
        if index == 0 and (header.width > limits.max_width or header.height > limits.max_height):
            raise fail(
                "validation_dimensions",
                f"Frames are {header.width}x{header.height}; the limit is "
                f"{limits.max_width}x{limits.max_height}.",
                width=header.width,
                height=header.height,
            )
        first = headers[0] if headers else header
        if (header.width, header.height) != (first.width, first.height):
            raise fail(
                "validation_frame_size_mismatch",
                f"{info.filename} is {header.width}x{header.height}, frame000000.png is "
                f"{first.width}x{first.height}.",
                entry=info.filename,
            )
        if info.file_size > header.max_file_bytes():
            raise fail(
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


def verify_scale(
    zf: zipfile.ZipFile, frames: list[zipfile.ZipInfo], header: PngHeader, claimed: int
) -> int:
    """The largest factor dividing the claimed scale and both sides of the frames over whose
    blocks the first and last frames are constant. Checking two frames (not all) keeps inspection
    cheap; a frame that breaks the pattern later is still encoded, just subsampled."""
    common = math.gcd(claimed, header.width, header.height)
    candidates = [d for d in range(common, 0, -1) if common % d == 0]  # largest first
    if candidates == [1]:
        return 1
    samples = [frames[0]] if len(frames) == 1 else [frames[0], frames[-1]]
    images = [
        decode_png(
            read_entry(zf, info, header.max_file_bytes()),
            info.filename,
            header.width,
            header.height,
        )
        for info in samples
    ]
    return next(f for f in candidates if all(_is_block_constant(im, f) for im in images))


def _frame_byte_bound(info: TapeInfo) -> int:
    # The widest PNG of the stored size: 16-bit RGBA.
    return PngHeader(info.stored_width, info.stored_height, 16, 6).max_file_bytes()


def _load_frame(zf: zipfile.ZipFile, entry: zipfile.ZipInfo, info: TapeInfo) -> np.ndarray:
    data = read_entry(zf, entry, _frame_byte_bound(info))
    image = decode_png(data, entry.filename, info.stored_width, info.stored_height)
    del data
    return to_rgb8(image[:: info.scale, :: info.scale])


def _frame_entries(zf: zipfile.ZipFile, info: TapeInfo) -> list[zipfile.ZipInfo]:
    bound = _frame_byte_bound(info)
    entries = []
    for name in info.frame_names:
        try:
            entry = zf.getinfo(name)
        except KeyError:
            raise fail("validation_corrupt", f"{name} vanished from the archive.") from None
        if entry.file_size > bound:
            raise fail("validation_uncompressed_too_large", f"{name} is too large.", entry=name)
        entries.append(entry)
    return entries


def distinct_frames(path: str | os.PathLike[str], info: TapeInfo) -> tuple[list[int], list[float]]:
    """The frames of an inspected tape that differ from the one before, and how long each is on
    screen: its own duration plus its repeats'. A drawing's still moments (the pen lifted, a
    pause) are then one frame held, not many copies of it to decode and encode; what shows at
    every moment is unchanged. Repeats are found from the stored bytes, without decoding: a
    frame whose size and CRC match the previous one's is compared byte for byte."""
    bound = _frame_byte_bound(info)
    kept: list[int] = []
    held: list[Fraction] = []
    with open_zip(os.fspath(path)) as zf:
        previous: zipfile.ZipInfo | None = None
        for index, entry in enumerate(_frame_entries(zf, info)):
            duration = Fraction(info.durations_ms[index])
            if previous is not None and _same_bytes(zf, previous, entry, bound):
                held[-1] += duration
            else:
                kept.append(index)
                held.append(duration)
            previous = entry
    # Exact sums, so a held frame ends where its last repeat did (tapes.timing rounds the
    # running total the same way).
    return kept, [float(duration) for duration in held]


def _same_bytes(zf: zipfile.ZipFile, a: zipfile.ZipInfo, b: zipfile.ZipInfo, bound: int) -> bool:
    if (a.CRC, a.file_size) != (b.CRC, b.file_size):
        return False
    return read_entry(zf, a, bound) == read_entry(zf, b, bound)


def iter_frames(
    path: str | os.PathLike[str],
    info: TapeInfo,
    *,
    threads: int = 2,
    only: Sequence[int] | None = None,
) -> Generator[np.ndarray, None, None]:
    """Yield every frame of an inspected tape, in order, as a C-contiguous RGB uint8 array of the
    1x size (``info.height, info.width, 3``). Alpha is composited over black. ``only``: the
    indices of the frames wanted (ascending, e.g. ``distinct_frames``'), the others not read.

    Frames are decoded ahead in ``threads`` threads (libpng releases the GIL) with at most
    ``2 * threads`` frames in flight, so memory stays at a few frames whatever the tape's length.
    """
    workers = max(1, threads)
    window = 2 * workers
    with (
        open_zip(os.fspath(path)) as zf,
        ThreadPoolExecutor(workers, thread_name_prefix="tape-png") as pool,
    ):
        pending: deque[Future[np.ndarray]] = deque()
        try:
            entries = _frame_entries(zf, info)
            for entry in entries if only is None else (entries[index] for index in only):
                pending.append(pool.submit(_load_frame, zf, entry, info))
                if len(pending) >= window:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:  # consumer stopped early or a frame failed
                future.cancel()
