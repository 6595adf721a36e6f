"""ArchiveLimits: from settings, and inclusive bounds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tapes.archive import (
    ArchiveLimits,
    inspect_archive,
)
from tests.support.synth import write_zip
from tests.tapes.archive.badzips import tape_entries


def test_limits_from_settings() -> None:
    limits = ArchiveLimits.from_settings({"MAX_FRAMES": 10, "max_duration_ms": 5000})
    assert (limits.max_frames, limits.max_duration_ms) == (10, 5000)
    assert ArchiveLimits.from_settings(None) == ArchiveLimits()
    assert ArchiveLimits(**{"max_width": 100}).max_width == 100
    with pytest.raises(ValueError, match="max_framez"):
        ArchiveLimits.from_settings({"max_framez": 1})
    bad_values: list[Any] = [0, -1, float("nan"), True, "10"]
    for bad in bad_values:
        with pytest.raises(ValueError):
            ArchiveLimits(min_frame_duration_ms=bad)


def test_limits_are_inclusive(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "tape.zip", tape_entries(3, durations=[10.0, 20.0, 30.0]))
    limits = ArchiveLimits(
        max_frames=3, max_duration_ms=60, max_frame_duration_ms=30, min_frame_duration_ms=10
    )
    assert inspect_archive(path, limits).total_duration_ms == 60
