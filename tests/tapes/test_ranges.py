"""What a Range header asks of a file (tapes.ranges): one range, clamped to the file, a 416 past
its end, the whole file for anything else."""

from __future__ import annotations

import pytest

from tapes.ranges import UNSATISFIABLE, ByteRange, parse_range, unsatisfied_content_range


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-0", 0, 0),
        ("bytes=0-99", 0, 99),
        ("bytes=10-19", 10, 19),
        ("bytes=10-", 10, 99),
        ("bytes=0-", 0, 99),
        ("bytes=99-", 99, 99),
        ("bytes=-1", 99, 99),
        ("bytes=-30", 70, 99),
        ("bytes=-100", 0, 99),
        ("bytes=-5000", 0, 99),  # a suffix longer than the file is the whole file
        ("bytes=90-5000", 90, 99),  # the end is clamped to the file
        ("Bytes=1-2", 1, 2),
        ("bytes= 1-2 ", 1, 2),
    ],
)
def test_one_range_is_served(header: str, start: int, end: int) -> None:
    wanted = parse_range(header, 100)
    assert wanted == ByteRange(start=start, end=end, size=100)
    assert isinstance(wanted, ByteRange)
    assert wanted.length == end - start + 1
    assert wanted.content_range == f"bytes {start}-{end}/100"


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=100-200", "bytes=5000-", "bytes=-0"])
def test_bytes_the_file_does_not_have_are_unsatisfiable(header: str) -> None:
    assert parse_range(header, 100) == UNSATISFIABLE
    assert unsatisfied_content_range(100) == "bytes */100"


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "bytes=",
        "bytes=-",
        "bytes",
        "0-10",
        "items=0-10",
        "bytes=abc-def",
        "bytes=1-2-3",
        "bytes=+1-2",
        "bytes=20-10",  # last before first: invalid, so ignored
        "bytes=0-1,5-6",  # several ranges: the whole file instead
        "bytes=0-1, 200-300",
        "bytes=0x10-20",
    ],
)
def test_anything_else_gets_the_whole_file(header: str | None) -> None:
    assert parse_range(header, 100) is None


def test_an_empty_file_is_always_sent_whole() -> None:
    assert parse_range("bytes=0-", 0) is None
    assert parse_range("bytes=-5", 0) is None
