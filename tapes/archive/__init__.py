"""Validate and read a recorded tape: a ZIP of PNG frames, ``timing.json`` and ``metadata.json``.

The archive comes straight from a browser (or from anyone with curl), so nothing in it is trusted:
sizes and ratios are checked from the central directory before anything is decompressed, every
read is bounded, and every problem becomes an :class:`ArchiveError` with a stable ``validation_*``
code. The format and the codes are written down in ``docs/tape-format.md``.

Pure Python (no Django, nothing from the site): the encode service, the tests and the benchmarks
call it. By concern:

- ``errors``: ArchiveError and CODES
- ``limits``: ArchiveLimits (what is refused)
- ``reading``: the file, its central directory, bounded entry reads
- ``entries``: per-entry checks and which entries are frames, timing, metadata
- ``documents``: timing.json and metadata.json
- ``png``: PNG headers, decoding, conversion to RGB
- ``frames``: frame checks, the scale, ``iter_frames``
- ``inspection``: ``inspect_archive``, the whole check in order
- ``info``: TapeInfo, the result
"""

from tapes.archive.entries import FRAME_NAME_RE, METADATA_NAME, TIMING_NAME
from tapes.archive.errors import CODES, ArchiveError
from tapes.archive.frames import distinct_frames, iter_frames
from tapes.archive.info import TapeInfo
from tapes.archive.inspection import inspect_archive
from tapes.archive.limits import DEFAULT_LIMITS, ArchiveLimits, MiB
from tapes.archive.png import to_rgb8

__all__ = [
    "CODES",
    "DEFAULT_LIMITS",
    "FRAME_NAME_RE",
    "METADATA_NAME",
    "TIMING_NAME",
    "ArchiveError",
    "ArchiveLimits",
    "MiB",
    "TapeInfo",
    "distinct_frames",
    "inspect_archive",
    "iter_frames",
    "to_rgb8",
]
