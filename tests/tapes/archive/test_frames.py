"""iter_frames and the scale: frames read back exactly, whatever the scale, size or threads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tapes.archive import (
    ArchiveError,
    distinct_frames,
    inspect_archive,
    iter_frames,
)
from tests.support.synth import SynthTape, make_held_tape, write_zip
from tests.tapes.archive.badzips import tape_entries
from tests.tapes.archive.helpers import TapeFactory, assert_frames_match, fields_of, read_all


@pytest.mark.parametrize("pattern", ["shapes", "flat", "bars"])
def test_1x_and_6x_tapes_read_back_identically(tape_factory: TapeFactory, pattern: str) -> None:
    kwargs: dict[str, Any] = {"frames": 8, "width": 64, "height": 48, "seed": 3}
    one = tape_factory(scale=1, pattern=pattern, **kwargs)
    six = tape_factory(scale=6, pattern=pattern, **kwargs)
    info_one, info_six = inspect_archive(one.path), inspect_archive(six.path)
    assert (info_one.scale, info_six.scale) == (1, 6)
    assert (info_six.stored_width, info_six.stored_height) == (384, 288)
    frames_one, frames_six = read_all(one.path, info_one), read_all(six.path, info_six)
    assert_frames_match(one, frames_one)
    assert_frames_match(six, frames_six)


@pytest.mark.parametrize("scale", [1, 6])
def test_odd_sized_tape(tape_factory: TapeFactory, scale: int) -> None:
    tape = tape_factory(frames=4, width=255, height=133, scale=scale, seed=5)
    info = inspect_archive(tape.path)
    assert (info.width, info.height, info.scale) == (255, 133, scale)
    assert_frames_match(tape, read_all(tape.path, info))


@pytest.mark.parametrize("scale", [1, 4])
def test_rgba_tape_is_composited_over_black(tape_factory: TapeFactory, scale: int) -> None:
    tape = tape_factory(frames=4, width=64, height=32, scale=scale, alpha=True)
    info = inspect_archive(tape.path)
    assert info.has_alpha is True
    frames = read_all(tape.path, info)
    assert_frames_match(tape, frames)
    source = tape.source(0)
    transparent = source[:, :, 3] == 0
    assert transparent.any()
    assert not frames[0][transparent].any()  # fully transparent pixels are black
    opaque = source[:, :, 3] == 255
    np.testing.assert_array_equal(frames[0][opaque], source[:, :, :3][opaque])


@pytest.mark.parametrize("threads", [1, 2, 4])
def test_thread_counts_agree(small_tape: SynthTape, threads: int) -> None:
    info = inspect_archive(small_tape.path)
    assert_frames_match(small_tape, read_all(small_tape.path, info, threads=threads))


def test_stopping_early_releases_everything(small_tape: SynthTape) -> None:
    info = inspect_archive(small_tape.path)
    frames = iter_frames(small_tape.path, info)
    first = next(frames)
    frames.close()  # must not hang on the frames decoded ahead
    np.testing.assert_array_equal(first, small_tape.frame(0))


def test_frame_removed_after_inspection(small_tape: SynthTape, tmp_path: Path) -> None:
    info = inspect_archive(small_tape.path)
    path = write_zip(tmp_path / "other.zip", tape_entries(3, width=40, height=24, scale=3))
    with pytest.raises(ArchiveError) as caught:
        read_all(path, info)
    assert caught.value.code == "validation_corrupt"


def test_unverified_scale_falls_back_to_the_largest_verified_factor(
    tape_factory: TapeFactory,
) -> None:
    # Stored at 2x, metadata claims 6x: 6 and 3 fail the block check, 2 passes.
    resolution = {"width": 96, "height": 96, "originalWidth": 16, "originalHeight": 16, "scale": 6}
    tape = tape_factory(
        frames=3, width=48, height=48, scale=2, metadata_overrides={"resolution": resolution}
    )
    info = inspect_archive(tape.path)
    assert (info.scale, info.width, info.height) == (2, 48, 48)
    assert fields_of(info) == {"scale": (6, 2), "width": (16, 48), "height": (16, 48)}
    assert_frames_match(tape, read_all(tape.path, info))


def test_scale_that_does_not_divide_the_frames(tape_factory: TapeFactory) -> None:
    tape = tape_factory(
        frames=2, width=15, height=10, scale=1, metadata_overrides={"resolution": {"scale": 4}}
    )
    info = inspect_archive(tape.path)
    assert info.scale == 1
    assert fields_of(info) == {"scale": (4, 1)}


def test_held_frames_are_read_once_and_shown_as_long_as_their_repeats(tmp_path: Path) -> None:
    pictures = [0, 0, 1, 1, 1, 2, 1, 1]
    durations = [16.7, 16.6, 33.3, 16.7, 0.5, 100.0, 20.25, 20.25]
    frames = make_held_tape(tmp_path / "held.zip", pictures, durations)
    info = inspect_archive(tmp_path / "held.zip")
    kept, held_ms = distinct_frames(tmp_path / "held.zip", info)
    # A picture coming back after another is a new frame; only repeats in a row are held.
    assert kept == [0, 2, 5, 6]
    assert held_ms == pytest.approx([33.3, 50.5, 100.0, 40.5], abs=1e-9)
    assert sum(held_ms) == pytest.approx(sum(durations), abs=1e-9)
    read = list(iter_frames(tmp_path / "held.zip", info, only=kept))
    assert len(read) == len(kept)
    for index, frame in zip(kept, read, strict=True):
        assert np.array_equal(frame, frames[index])


def test_a_tape_without_repeats_keeps_every_frame(tape_factory: TapeFactory) -> None:
    tape = tape_factory(frames=6, width=32, height=24, scale=6, seed=2)
    info = inspect_archive(tape.path)
    kept, held_ms = distinct_frames(tape.path, info)
    assert kept == list(range(6))
    assert held_ms == pytest.approx(list(info.durations_ms))
