"""The files beside the MP4 lose nothing: every frame of the preview, and every GIF frame of a
few-colour tape, is its source frame pixel for pixel. They are written while the MP4 pass ends,
and a writer that fails takes every file of the job with it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
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


def test_the_streamed_preview_is_the_file_pillow_writes_from_the_same_frames(
    tape_factory: TapeFactory, render: Render, tmp_path: Path
) -> None:
    # The preview is encoded frame by frame during the pass through Pillow's libwebp binding;
    # Pillow's own writer, given every frame at once, must write the very same bytes (so a
    # Pillow upgrade that changes the binding fails here, not in a viewer's browser).
    tape = tape_factory(frames=90, width=40, height=24, scale=2, seed=5, noise=0.05)
    settings = EncodeSettings()
    out = render(tape)
    collector = PreviewCollector(frame_timing(tape.durations_ms), 40, 24, settings)
    frames = replayed(collector, tape)
    reference = tmp_path / "pillow.webp"
    Image.fromarray(frames[0]).save(
        reference,
        format="WEBP",
        save_all=True,
        append_images=[Image.fromarray(frame) for frame in frames[1:]],
        duration=collector.durations(),
        loop=0,
        lossless=True,
        quality=settings.webp_effort,
        method=settings.webp_method,
        kmin=0,
        kmax=0,
    )
    assert out.preview.read_bytes() == reference.read_bytes()
    assert out.result.preview_bytes == reference.stat().st_size


def test_a_pass_given_up_hands_the_preview_to_the_pass_that_finishes(
    tape_factory: TapeFactory, render: Render
) -> None:
    tape = tape_factory(frames=90, width=40, height=24, scale=2, seed=5, noise=0.05)
    # A CAVLC share no video fits: the first pass is abandoned a fifth of the way in, after
    # its preview writer had taken frames; the CABAC pass writes the preview whole.
    out = render(tape, cavlc_share=1e-6)
    assert [a["outcome"] for a in out.result.attempts] == ["abandoned", "kept"]
    expected = replayed(
        PreviewCollector(frame_timing(tape.durations_ms), 40, 24, EncodeSettings()), tape
    )
    frames = decoded_frames(out.preview)
    assert len(frames) == len(expected) == out.result.preview_frames
    for got, want in zip(frames, expected, strict=True):
        np.testing.assert_array_equal(got, want)


def test_frames_that_fail_mid_pass_stop_the_preview_writer(
    tape_factory: TapeFactory, tmp_path: Path
) -> None:
    # The writer waits for frames on a thread of its own: a pass that dies must not leave it
    # waiting (render_tape would never return) nor leave a file behind.
    from tapes.archive import inspect_archive, iter_frames
    from tapes.encoder import render_tape

    tape = tape_factory(frames=60, width=40, height=24, scale=2, seed=5)
    info = inspect_archive(tape.path)

    def dying() -> Iterator[np.ndarray]:
        for index, frame in enumerate(iter_frames(tape.path, info)):
            if index == 40:
                raise RuntimeError("the storage went away")
            yield frame

    out = tmp_path / "out"
    out.mkdir()
    raised: list[BaseException] = []

    def encode() -> None:
        try:
            render_tape(
                dying,
                info.durations_ms,
                info.width,
                info.height,
                mp4_path=out / "v.mp4",
                preview_path=out / "p.webp",
                gif_path=out / "g.gif",
                thumbnail_path=out / "t.webp",
            )
        except BaseException as exc:
            raised.append(exc)

    # In a thread, so that a writer left waiting fails the test rather than hanging the suite.
    caller = threading.Thread(target=encode, daemon=True)
    caller.start()
    caller.join(timeout=60)
    assert not caller.is_alive(), "render_tape never returned"
    assert len(raised) == 1 and "went away" in str(raised[0])
    assert not list(out.iterdir())
    assert not [t for t in threading.enumerate() if t.name.startswith("tape-")]
