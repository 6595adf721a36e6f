"""Fixtures that write synthetic tapes (tests/support/synth.py) under the test's tmp_path."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.synth import SynthTape, make_tape


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
