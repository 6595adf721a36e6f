"""Bombs and lying headers: refused from the central directory, or read with bounded memory."""

from __future__ import annotations

import tracemalloc
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tapes.archive import (
    ArchiveError,
    TapeInfo,
    inspect_archive,
)
from tests.support.synth import json_bytes, timing_document
from tests.tapes.archive import badzips
from tests.tapes.archive.badzips import RawEntry, tape_entries, write_raw_zip


class OpenCounter:
    """Wraps ZipFile.open to record which entries get decompressed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.names: list[str] = []
        original = zipfile.ZipFile.open

        def spy(zf: zipfile.ZipFile, name: Any, *args: Any, **kwargs: Any) -> Any:
            self.names.append(name.filename if isinstance(name, zipfile.ZipInfo) else name)
            return original(zf, name, *args, **kwargs)

        monkeypatch.setattr(zipfile.ZipFile, "open", spy)


def traced_peak(func: Callable[[], Any]) -> tuple[Any, int]:
    tracemalloc.start()
    try:
        try:
            result: Any = func()
        except ArchiveError as exc:
            result = exc
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_gigabyte_bomb_is_rejected_before_inflating(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = badzips.gigabyte_bomb(tmp_path)
    with zipfile.ZipFile(path) as zf:
        bomb = zf.getinfo("bomb.bin")
    assert path.stat().st_size < 8 << 20
    assert bomb.file_size >= 3 << 30
    opens = OpenCounter(monkeypatch)

    error, peak = traced_peak(lambda: inspect_archive(path))

    assert isinstance(error, ArchiveError)
    assert error.code == "validation_compression_ratio"
    assert opens.names == []  # nothing was decompressed at all
    assert peak < 4 << 20


def test_the_bomb_really_inflates() -> None:
    # Guards the test above: the bomb's stream is real deflate data of zeros.
    stream = badzips.zeros_bomb(64 << 20)
    inflated = zlib.decompressobj(-15).decompress(stream)
    assert len(inflated) == 64 << 20
    assert not any(inflated)


def test_many_small_entries_adding_up_are_rejected_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = badzips.many_megabytes(tmp_path)
    opens = OpenCounter(monkeypatch)
    with pytest.raises(ArchiveError) as caught:
        inspect_archive(path)
    assert caught.value.code == "validation_uncompressed_too_large"
    assert opens.names == []


def test_lying_header_is_rejected_with_bounded_memory(tmp_path: Path) -> None:
    path = badzips.lying_header_full_crc(tmp_path)  # declares 300 bytes, inflates to 64 MiB

    error, peak = traced_peak(lambda: inspect_archive(path))

    assert isinstance(error, ArchiveError)
    assert error.code == "validation_corrupt"
    assert peak < 4 << 20


def test_lying_header_with_a_matching_prefix_crc_reads_only_the_declared_bytes(
    tmp_path: Path,
) -> None:
    # The CRC covers exactly the declared prefix: the entry is "valid" and the rest never inflates.
    prefix = json_bytes(timing_document([16.7] * 3))
    payload = prefix + b" " * (64 << 20)
    entries = [RawEntry(n, d) for n, d in tape_entries() if n != "timing.json"]
    lying = RawEntry.deflated("timing.json", payload, file_size=len(prefix), crc=zlib.crc32(prefix))
    path = write_raw_zip(tmp_path / "tape.zip", [*entries, lying])

    info, peak = traced_peak(lambda: inspect_archive(path))

    assert isinstance(info, TapeInfo)
    assert info.durations_ms == (16.7, 16.7, 16.7)
    assert peak < 4 << 20
