"""Fixtures for the encoder tests: pure Python, no Django, no services. The synthetic tapes
(tape_factory, small_tape) come from tests/support/synth_fixtures.py.

Every tape ``render`` encodes is checked for the encoder's flat-area promise: pixels whose 3x3
neighbourhood is one colour in the 1x source are within ``FLAT_P99`` code values at the 99th
percentile (tests/support/video.py). Only tests that squeeze a tape on purpose opt out."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from tapes.archive import inspect_archive, iter_frames
from tapes.encoder import EncodeResult, EncodeSettings, render_tape
from tests.support.synth import SynthTape
from tests.support.video import FlatError, flat_error

#: The flat-area bound (code values, 99th percentile) every encode in these tests must meet.
FLAT_P99 = 4


@dataclass(frozen=True)
class Rendered:
    """What ``render`` wrote for one tape, and the encoder's own account of it."""

    result: EncodeResult
    mp4: Path
    thumbnail: Path
    preview: Path
    gif: Path
    progress: list[float]
    flat: FlatError | None


@pytest.fixture
def render(tmp_path: Path) -> Callable[..., Rendered]:
    """``render(tape, settings=EncodeSettings(), **overrides)`` encodes a synthetic tape through
    the archive reader, like the job does; ``overrides`` replace EncodeSettings fields. The
    flat-area bound is asserted unless ``check_flat=False``."""
    counter = itertools.count()

    def run(
        tape: SynthTape,
        settings: EncodeSettings | None = None,
        check_flat: bool = True,
        **overrides: Any,
    ) -> Rendered:
        info = inspect_archive(tape.path)
        chosen = replace(settings or EncodeSettings(), **overrides)
        stem = tmp_path / f"out{next(counter)}"
        progress: list[float] = []
        result = render_tape(
            lambda: iter_frames(tape.path, info),
            info.durations_ms,
            info.width,
            info.height,
            mp4_path=stem.with_suffix(".mp4"),
            thumbnail_path=stem.with_name(stem.name + "-thumb.webp"),
            preview_path=stem.with_name(stem.name + "-preview.webp"),
            gif_path=stem.with_suffix(".gif"),
            settings=chosen,
            progress=progress.append,
        )
        flat = None
        if check_flat:
            flat = flat_error(stem.with_suffix(".mp4"), tape.frame, result.factor)
            assert flat.p99 <= FLAT_P99, (flat, result.attempts)
        return Rendered(
            result,
            stem.with_suffix(".mp4"),
            stem.with_name(stem.name + "-thumb.webp"),
            stem.with_name(stem.name + "-preview.webp"),
            stem.with_suffix(".gif"),
            progress,
            flat,
        )

    return run
