"""The animated GIF: 1x, looping, with the tape's timing, and never over its size cap."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tapes.encoder import EncodeError, EncodeSettings, FrameSampler, save_gif
from tapes.timing import frame_timing
from tests.support.synth import SynthTape
from tests.tapes.encoder.conftest import Rendered

Render = Callable[..., Rendered]
TapeFactory = Callable[..., SynthTape]


def gif_frames(path: Path) -> tuple[list[np.ndarray], list[int], int | None]:
    """(RGB frames, delays in ms, loop) of a GIF."""
    picture = Image.open(path)
    frames, delays = [], []
    for index in range(getattr(picture, "n_frames", 1)):
        picture.seek(index)
        frames.append(np.asarray(picture.convert("RGB")))
        delays.append(int(picture.info["duration"]))
    return frames, delays, picture.info.get("loop")


def test_gif_is_a_looping_1x_animation_with_the_tape_timing(
    tape_factory: TapeFactory, render: Render
) -> None:
    tape = tape_factory(frames=60, width=40, height=24, scale=3, seed=9)
    out = render(tape)
    result = out.result
    frames, delays, loop = gif_frames(out.gif)
    assert loop == 0 and frames[0].shape == (24, 40, 3)
    assert (result.gif_width, result.gif_height) == (40, 24)
    assert len(frames) == result.gif_frames > 1 and result.gif_bytes == out.gif.stat().st_size
    total = frame_timing(tape.durations_ms).total_ms
    assert abs(sum(delays) - total) <= 5  # whole centiseconds, rounded cumulatively
    assert min(delays) >= 90  # at most gif_fps (10) frames a second
    # Pixel art has few colours: the GIF's are exact.
    np.testing.assert_array_equal(frames[0], tape.frame(0))


def test_gif_over_its_cap_keeps_fewer_frames_then_fewer_colours(
    tape_factory: TapeFactory, render: Render
) -> None:
    tape = tape_factory(frames=90, width=64, height=64, scale=1, seed=4, noise=0.2)
    out = render(tape, gif_max_bytes=12_000)
    result = out.result
    assert out.gif.stat().st_size == result.gif_bytes <= 12_000
    full = render(tape).result
    assert result.gif_frames < full.gif_frames
    frames, delays, _ = gif_frames(out.gif)
    assert len(frames) == result.gif_frames
    assert abs(sum(delays) - frame_timing(tape.durations_ms).total_ms) <= 5


def test_a_gif_that_cannot_fit_is_an_encode_error(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    sampler = FrameSampler(frame_timing([100.0] * 4), (32, 32), 10.0, 10)
    for index in range(4):
        sampler.offer(index, rng.integers(0, 256, (32, 32, 3), dtype=np.uint8))
    with pytest.raises(EncodeError) as caught:
        save_gif(sampler, tmp_path / "a.gif", EncodeSettings(gif_max_bytes=10))
    assert caught.value.code == "encode_gif_too_large"


@pytest.mark.parametrize("colours", [1, 2, 255, 256])
def test_a_frame_of_up_to_256_colours_keeps_them_exactly(tmp_path: Path, colours: int) -> None:
    # Neighbouring colours (one code value apart in one channel) must stay apart.
    palette = np.array([(0, 0, i) for i in range(colours)], np.uint8)
    rng = np.random.default_rng(colours)
    frames = [palette[rng.permutation(np.arange(512) % colours)].reshape(16, 32, 3)]
    frames.append(palette[::-1][np.arange(512) % colours].reshape(16, 32, 3))
    sampler = FrameSampler(frame_timing([200.0, 200.0]), (32, 16), 10.0, 10)
    for index, frame in enumerate(frames):
        sampler.offer(index, frame)
    result = save_gif(sampler, tmp_path / "a.gif", EncodeSettings())
    got, _, _ = gif_frames(tmp_path / "a.gif")
    assert result.frames == len(got) == len(sampler.images)
    for decoded, frame in zip(got, sampler.images, strict=True):
        np.testing.assert_array_equal(decoded, frame)


def test_a_frame_of_more_than_256_colours_is_quantised_to_256(tmp_path: Path) -> None:
    frame = np.random.default_rng(3).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    sampler = FrameSampler(frame_timing([100.0]), (32, 32), 10.0, 10)
    sampler.offer(0, frame)
    save_gif(sampler, tmp_path / "a.gif", EncodeSettings())
    picture = Image.open(tmp_path / "a.gif")
    assert picture.mode == "P" and len(picture.getcolors(256) or []) <= 256
    # Quantised without dithering: each pixel near its own colour.
    error = np.abs(np.asarray(picture.convert("RGB")).astype(int) - frame).mean()
    assert error < 24
