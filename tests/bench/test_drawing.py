"""bench/drawing.py: the burst benchmark's tapes look like drawing in the recorder, repeat by
seed and are valid recorder tapes."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import drawing

from tapes.archive import inspect_archive, iter_frames


def test_drawing_accumulates_strokes_on_a_plain_ground_and_repeats_by_seed() -> None:
    frames = list(drawing.drawing_frames(7, 240))
    again = list(drawing.drawing_frames(7, 240))
    other = list(drawing.drawing_frames(8, 240))

    assert all(np.array_equal(a, b) for a, b in zip(frames, again, strict=True))
    assert not np.array_equal(frames[-1], other[-1])
    paper = frames[0][0, 0]
    # Nothing is erased: a pixel that left the ground never returns to it.
    inked = np.zeros(frames[0].shape[:2], bool)
    for frame in frames:
        now = np.any(frame != paper, axis=2)
        assert not np.any(inked & ~now)
        inked = now
    assert 0.01 < inked.mean() < 0.5
    # Only the ground and the inks appear.
    colours = {tuple(c) for c in frames[-1].reshape(-1, 3)}
    assert colours <= {tuple(paper), *(tuple(c) for c in drawing.INKS)}
    # The pen lifts now and then: some frames repeat the one before.
    held = sum(np.array_equal(a, b) for a, b in itertools.pairwise(frames))
    assert 0 < held < len(frames) // 2


def test_the_plan_is_3_to_10_seconds_at_60_fps_per_seed() -> None:
    plan = drawing.tape_plan(200)

    assert plan == drawing.tape_plan(200)
    assert len({seed for seed, _ in plan}) == 200
    assert all(180 <= frames <= 600 for _, frames in plan)
    seconds = [sum(drawing.durations(frames, seed)) / 1000 for seed, frames in plan]
    assert all(3 <= s <= 10 for s in seconds)
    assert max(f for _, f in plan) - min(f for _, f in plan) > 300


def test_a_drawing_tape_is_a_valid_recorder_tape(tmp_path: Path) -> None:
    path = tmp_path / "tape.zip"
    drawing.write_drawing_tape(path, seed=3, frames=200)

    info = inspect_archive(path)
    assert (info.width, info.height, info.scale) == (256, 192, 1)
    assert len(info.frame_names) == 200
    decoded = list(iter_frames(path, info))
    expected = list(drawing.drawing_frames(3, 200))
    assert np.array_equal(decoded[-1], expected[-1])
