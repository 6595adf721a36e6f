"""timing.json and metadata.json: tolerated variations, discrepancies (the frames win) and the
legacy metadata shape."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tapes.archive import (
    inspect_archive,
)
from tests.support.synth import (
    frame_name,
    json_bytes,
    legacy_metadata,
    timing_document,
    write_zip,
)
from tests.tapes.archive import badzips
from tests.tapes.archive.badzips import tape_entries
from tests.tapes.archive.helpers import TapeFactory, assert_frames_match, fields_of, read_all


def test_integer_durations_and_missing_timestamps(tmp_path: Path) -> None:
    rows = [{"filename": frame_name(i), "duration": 17} for i in range(3)]
    entries = badzips.replace(tape_entries(), "timing.json", json.dumps(rows).encode())
    info = inspect_archive(write_zip(tmp_path / "tape.zip", entries))
    assert info.durations_ms == (17.0, 17.0, 17.0)


def test_utf8_bom_in_json_is_tolerated(tmp_path: Path) -> None:
    timing = b"\xef\xbb\xbf" + json_bytes(timing_document([16.7] * 3))
    entries = badzips.replace(tape_entries(), "timing.json", timing)
    assert inspect_archive(write_zip(tmp_path / "tape.zip", entries)).frames == 3


def test_lying_metadata_is_reported_not_fatal(tape_factory: TapeFactory) -> None:
    resolution = {"width": 999, "height": 72, "originalWidth": 41, "originalHeight": 24, "scale": 3}
    tape = tape_factory(
        frames=6,
        width=40,
        height=24,
        scale=3,
        metadata_overrides={"frames": 600, "duration": 99_999, "resolution": resolution},
    )
    info = inspect_archive(tape.path)
    assert fields_of(info) == {
        "frames": (600, 6),
        "total_duration_ms": (99_999, pytest.approx(info.total_duration_ms)),
        "stored_width": (999, 120),
        "width": (41, 40),
    }
    assert (info.frames, info.width, info.scale) == (6, 40, 3)
    assert_frames_match(tape, read_all(tape.path, info))


def test_small_duration_differences_are_not_discrepancies(tape_factory: TapeFactory) -> None:
    tape = tape_factory(frames=6, width=16, height=16, scale=1, durations_ms=[16.7] * 6)
    info = inspect_archive(tape.path)
    assert info.discrepancies == ()
    other = tape_factory(
        frames=6, width=16, height=16, scale=1, durations_ms=[16.7] * 6,
        metadata_overrides={"duration": 110},
    )  # fmt: skip
    assert inspect_archive(other.path).discrepancies == ()


def test_missing_scale_means_1x(tape_factory: TapeFactory) -> None:
    # Without a claim the reader does not guess: blocky frames stay at their stored size.
    tape = tape_factory(
        frames=2, width=16, height=16, scale=2, metadata_overrides={"resolution": None}
    )
    info = inspect_archive(tape.path)
    assert (info.scale, info.width, info.height) == (1, 32, 32)
    assert info.discrepancies == ()


def test_scale_derived_from_resolution(tape_factory: TapeFactory) -> None:
    resolution = {"width": 64, "height": 48, "originalWidth": 16, "originalHeight": 12}
    tape = tape_factory(
        frames=2, width=16, height=12, scale=4, metadata_overrides={"resolution": resolution}
    )
    assert inspect_archive(tape.path).scale == 4


@pytest.mark.parametrize("explicit_scale", [True, False])
def test_legacy_metadata_is_accepted(tape_factory: TapeFactory, explicit_scale: bool) -> None:
    kwargs: dict[str, Any] = {"frames": 5, "width": 20, "height": 12, "scale": 6}
    durations = [16.7, 16.6, 16.8, 300.0, 16.7]
    overrides = legacy_metadata(
        width=20, height=12, stored_scale=6, frames=5, total_ms=sum(durations), scale=explicit_scale
    )
    tape = tape_factory(durations_ms=durations, metadata_overrides=overrides, **kwargs)
    info = inspect_archive(tape.path)
    assert info.metadata_shape == "legacy"
    assert (info.scale, info.width, info.height) == (6, 20, 12)
    assert info.created == "2025-10-17T12:30:00.123Z"
    assert info.piece is None
    assert info.discrepancies == ()
    assert_frames_match(tape, read_all(tape.path, info))


def test_legacy_metadata_lies_are_reported(tape_factory: TapeFactory) -> None:
    kwargs: dict[str, Any] = {"frames": 3, "width": 8, "height": 8, "scale": 2}
    overrides = legacy_metadata(width=8, height=8, stored_scale=2, frames=3, total_ms=50.0) | {
        "frameCount": 30
    }
    tape = tape_factory(durations_ms=[16.7] * 3, metadata_overrides=overrides, **kwargs)
    assert fields_of(inspect_archive(tape.path)) == {"frames": (30, 3)}


def test_empty_metadata_object_is_accepted(tmp_path: Path) -> None:
    entries = badzips.replace(tape_entries(), "metadata.json", b"{}")
    info = inspect_archive(write_zip(tmp_path / "tape.zip", entries))
    assert (info.piece, info.fps, info.created, info.scale) == (None, None, None, 1)
