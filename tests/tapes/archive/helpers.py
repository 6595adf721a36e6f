"""Helpers shared by the archive tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tapes.archive import (
    TapeInfo,
    iter_frames,
)
from tests.support.synth import SynthTape

TapeFactory = Callable[..., SynthTape]


def read_all(path: Path, info: TapeInfo, **kwargs: Any) -> list[np.ndarray]:
    return list(iter_frames(path, info, **kwargs))


def assert_frames_match(tape: SynthTape, frames: list[np.ndarray]) -> None:
    assert len(frames) == tape.frames
    for index, frame in enumerate(frames):
        assert frame.dtype == np.uint8
        assert frame.flags["C_CONTIGUOUS"]
        assert frame.shape == (tape.height, tape.width, 3)
        np.testing.assert_array_equal(frame, tape.frame(index), err_msg=f"frame {index}")


def fields_of(info: TapeInfo) -> dict[str, tuple[Any, Any]]:
    return {d["field"]: (d["metadata"], d["actual"]) for d in info.discrepancies}
