"""The synthetic tape generator (tests/support/synth.py): deterministic, realistic and
self-describing."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tests.support.synth import (
    PALETTE,
    SynthTape,
    composite_over_black,
    make_durations,
    make_frame,
    make_frames,
    make_tape,
    upscale,
)

TapeFactory = Callable[..., SynthTape]


def test_same_arguments_same_bytes(tmp_path: Path) -> None:
    a = make_tape(tmp_path / "a.zip", frames=5, width=32, height=16, seed=4)
    b = make_tape(tmp_path / "b.zip", frames=5, width=32, height=16, seed=4)
    assert a.path.read_bytes() == b.path.read_bytes()
    c = make_tape(tmp_path / "c.zip", frames=5, width=32, height=16, seed=5)
    assert c.path.read_bytes() != a.path.read_bytes()


def test_archive_layout(small_tape: SynthTape) -> None:
    with zipfile.ZipFile(small_tape.path) as zf:
        names = zf.namelist()
        assert names == [f"frame{i:06d}.png" for i in range(12)] + ["timing.json", "metadata.json"]
        assert {info.compress_type for info in zf.infolist()} == {zipfile.ZIP_STORED}
        timing = json.loads(zf.read("timing.json"))
        metadata = json.loads(zf.read("metadata.json"))
    assert [row["filename"] for row in timing] == names[:12]
    assert [row["duration"] for row in timing] == list(small_tape.durations_ms)
    assert timing[1]["timestamp"] == pytest.approx(small_tape.durations_ms[0])
    assert metadata == small_tape.metadata
    assert metadata["resolution"] == {
        "width": 120,
        "height": 72,
        "originalWidth": 40,
        "originalHeight": 24,
        "scale": 3,
    }
    assert metadata["frames"] == 12
    assert metadata["duration"] == pytest.approx(small_tape.total_duration_ms)


def test_durations_jitter_around_60_fps_with_pauses() -> None:
    durations = make_durations(600, seed=1)
    short = [d for d in durations if d < 100]
    pauses = [d for d in durations if d >= 100]
    assert 1 <= len(pauses) <= 3
    assert all(250 <= d <= 800 for d in pauses)
    assert len(set(short)) > 10  # jittered, not constant
    assert np.mean(short) == pytest.approx(1000 / 60, abs=0.5)
    assert all(10 <= d <= 30 for d in short)
    assert all(d < 100 for d in make_durations(600, seed=1, pauses=False))


def test_frames_are_pure_functions_of_seed_and_index() -> None:
    first = make_frame(7, width=50, height=30, seed=2)
    again = make_frame(7, width=50, height=30, seed=2)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, make_frame(8, width=50, height=30, seed=2))
    frames = list(make_frames(9, width=50, height=30, seed=2))
    assert len(frames) == 9
    np.testing.assert_array_equal(frames[7], first)
    assert first.shape == (30, 50, 3) and first.dtype == np.uint8


def test_shapes_have_several_colours_and_move() -> None:
    frame = make_frame(0, width=128, height=128)
    assert len(np.unique(frame.reshape(-1, 3), axis=0)) > 5


def test_flat_and_bars_use_known_colours() -> None:
    for index in range(10):
        flat = make_frame(index, width=8, height=4, pattern="flat")
        assert (flat == PALETTE[index % len(PALETTE)]).all()
    bars = make_frame(0, width=16, height=3, pattern="bars")
    np.testing.assert_array_equal(bars[0, ::2], PALETTE)
    assert (bars == bars[0]).all()  # vertical bars: every row is the same


def test_alpha_frames_and_compositing() -> None:
    rgba = make_frame(0, width=16, height=16, pattern="flat", alpha=True)
    assert rgba.shape == (16, 16, 4)
    alpha = rgba[:, :, 3]
    assert alpha[0, 0] == 0 and alpha[0, -1] == 255 and (alpha[4:] == 255).all()
    rgb = composite_over_black(rgba)
    assert rgb.shape == (16, 16, 3)
    assert not rgb[0, 0].any()
    np.testing.assert_array_equal(rgb[4:], rgba[4:, :, :3])


def test_upscale_is_nearest_neighbour() -> None:
    image = make_frame(3, width=7, height=5)
    np.testing.assert_array_equal(upscale(image, 3), np.repeat(np.repeat(image, 3, 0), 3, 1))
    assert upscale(image, 1) is image


def test_invalid_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        make_tape(tmp_path / "t.zip", frames=3, durations_ms=[16.7])
    with pytest.raises(ValueError):
        make_tape(tmp_path / "t.zip", scale=0)


def test_metadata_overrides_merge_and_drop(tape_factory: TapeFactory) -> None:
    tape = tape_factory(
        frames=2, width=8, height=8, metadata_overrides={"fps": 30, "created": None}
    )
    assert tape.metadata["fps"] == 30
    assert "created" not in tape.metadata
    assert tape.metadata["piece"] == "synth"
