"""The files beside the MP4 lose nothing: every frame of the preview, and every GIF frame of a
few-colour tape, is its source frame pixel for pixel. They are written while the MP4 pass ends,
and a writer that fails takes every file of the job with it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tapes.encoder import EncodeError, EncodeSettings, PreviewCollector, gif_sampler
from tapes.encoder.images import FrameSampler
from tapes.timing import frame_timing
from tests.support.synth import SynthTape
from tests.tapes.encoder.conftest import Rendered

Render = Callable[..., Rendered]
TapeFactory = Callable[..., SynthTape]


def decoded_frames(path: Path) -> list[np.ndarray]:
    """Every frame of an animation as the viewer sees it (composited over the ones before)."""
    picture = Image.open(path)
    frames = []
    for index in range(getattr(picture, "n_frames", 1)):
        picture.seek(index)
        frames.append(np.asarray(picture.convert("RGB")))
    return frames


def replayed(sampler: FrameSampler, tape: SynthTape) -> list[np.ndarray]:
    """The frames ``sampler`` keeps of ``tape``'s source frames (which ones is the sampler's
    business, tested elsewhere; what the files hold of them is this file's)."""
    for index in range(tape.frames):
        sampler.offer(index, tape.frame(index))
    return sampler.images


def test_every_preview_frame_is_its_source_frame(tape_factory: TapeFactory, render: Render) -> None:
    tape = tape_factory(frames=90, width=40, height=24, scale=2, seed=5, noise=0.05)
    out = render(tape)
    timing = frame_timing(tape.durations_ms)
    expected = replayed(PreviewCollector(timing, 40, 24, EncodeSettings()), tape)
    frames = decoded_frames(out.preview)
    assert len(frames) == len(expected) == out.result.preview_frames > 5
    for got, want in zip(frames, expected, strict=True):
        np.testing.assert_array_equal(got, want)


def test_every_gif_frame_of_a_few_colour_tape_is_its_source_frame(
    tape_factory: TapeFactory, render: Render
) -> None:
    tape = tape_factory(frames=90, width=40, height=24, scale=2, seed=6, noise=0.05)
    out = render(tape)
    settings = EncodeSettings()
    expected = replayed(gif_sampler(frame_timing(tape.durations_ms), 40, 24, settings), tape)
    assert all(len(np.unique(f.reshape(-1, 3), axis=0)) <= 256 for f in expected)
    frames = decoded_frames(out.gif)
    assert len(frames) == len(expected) == out.result.gif_frames > 5
    for got, want in zip(frames, expected, strict=True):
        np.testing.assert_array_equal(got, want)


def test_a_failing_writer_leaves_no_file_of_the_job(
    tape_factory: TapeFactory, render: Render, tmp_path: Path
) -> None:
    tape = tape_factory(frames=30, width=40, height=24, scale=2, seed=7)
    with pytest.raises(EncodeError) as caught:
        render(tape, gif_max_bytes=10, check_flat=False)
    assert caught.value.code == "encode_gif_too_large"
    assert not list(tmp_path.glob("out*"))  # the MP4, thumbnail and preview went with it
