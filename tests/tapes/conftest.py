"""Fixtures for the tape archive tests: pure Python, no Django, no services."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from tapes.archive import inspect_archive, iter_frames
from tapes.encoder import EncodeResult, EncodeSettings, render_tape
from tapes.synth import SynthTape, make_tape


@pytest.fixture
def tape_factory(tmp_path: Path) -> Callable[..., SynthTape]:
    """``tape_factory(**make_tape_kwargs)`` writes a synthetic tape under tmp_path."""
    counter = itertools.count()

    def make(**kwargs: Any) -> SynthTape:
        return make_tape(tmp_path / f"tape{next(counter)}.zip", **kwargs)

    return make


@pytest.fixture
def small_tape(tape_factory: Callable[..., SynthTape]) -> SynthTape:
    """12 frames of 40x24 stored at 3x: quick to write and read."""
    return tape_factory(frames=12, width=40, height=24, scale=3, seed=7)


# --- encoder fixtures (tests/tapes/test_encoder.py) ----------------------------------------------


@dataclass(frozen=True)
class Rendered:
    """What ``render`` wrote for one tape, and the encoder's own account of it."""

    result: EncodeResult
    mp4: Path
    thumbnail: Path
    preview: Path
    progress: list[float]


@pytest.fixture
def render(tmp_path: Path) -> Callable[..., Rendered]:
    """``render(tape, settings=EncodeSettings(), **overrides)`` encodes a synthetic tape through
    the archive reader, like the job does; ``overrides`` replace EncodeSettings fields."""
    counter = itertools.count()

    def run(tape: SynthTape, settings: EncodeSettings | None = None, **overrides: Any) -> Rendered:
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
            settings=chosen,
            progress=progress.append,
        )
        return Rendered(
            result,
            stem.with_suffix(".mp4"),
            stem.with_name(stem.name + "-thumb.webp"),
            stem.with_name(stem.name + "-preview.webp"),
            progress,
        )

    return run
