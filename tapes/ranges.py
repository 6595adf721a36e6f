"""Byte ranges of a stored file (RFC 9110, section 14): what a ``Range`` header asks of a file of
``size`` bytes.

Browsers seek in a video by asking for a range of it, and Safari on iPhones will not play a video
whose server does not answer ranges at all. Only a single range is served: a server may ignore
``Range`` (RFC 9110, 14.2), so a list of ranges, another unit or a malformed header all get the
whole file, which every client handles. Pure: no Django, no site.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

_SPEC: Final = re.compile(r"^(\d*)-(\d*)$")

#: A range the file cannot satisfy (it starts past the end): the answer is a 416.
UNSATISFIABLE: Final = "unsatisfiable"


@dataclass(frozen=True, slots=True)
class ByteRange:
    """Bytes ``start`` to ``end`` of the file, both included (as ``Content-Range`` writes them)."""

    start: int
    end: int
    size: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    @property
    def content_range(self) -> str:
        return f"bytes {self.start}-{self.end}/{self.size}"


def parse_range(header: str | None, size: int) -> ByteRange | Literal["unsatisfiable"] | None:
    """The one range ``header`` asks of a file of ``size`` bytes; ``UNSATISFIABLE`` when it asks
    for bytes the file does not have; None when the whole file is the answer (no header, a
    malformed one, another unit, several ranges, or an empty file)."""
    if not header or size <= 0:
        return None
    unit, sep, spec = header.partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return None
    if "," in spec:
        return None  # several ranges: the whole file is simpler for everyone
    match = _SPEC.match(spec.strip())
    if match is None:
        return None
    first, last = match.groups()
    if not first:
        if not last:
            return None  # "bytes=-"
        suffix = int(last)
        if suffix == 0:
            return UNSATISFIABLE  # the last zero bytes: nothing to send (RFC 9110, 14.1.1)
        return ByteRange(start=max(size - suffix, 0), end=size - 1, size=size)
    start = int(first)
    if last and int(last) < start:
        return None  # invalid, so ignored (RFC 9110, 14.1.1)
    if start >= size:
        return UNSATISFIABLE
    end = min(int(last), size - 1) if last else size - 1
    return ByteRange(start=start, end=end, size=size)


def unsatisfied_content_range(size: int) -> str:
    """The ``Content-Range`` of a 416: the file's size, for the client's next try."""
    return f"bytes */{size}"
