"""A synthetic tape (``synth.make_tape``) really encoded by our encoder, for tests and benchmarks
that need a genuine MP4 and thumbnail but are not about encoding."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tapes.archive import inspect_archive, iter_frames
from tapes.encoder import EncodeSettings, render_tape
from tapes.timing import frame_timing
from tests.support.synth import Pattern, make_tape


@dataclass(frozen=True)
class Encoded:
    mp4: bytes
    thumbnail: bytes
    width: int
    height: int
    frames: int
    duration_ms: int
    #: The ZIP it was made from, and each frame's integer-ms duration (as the encode job records).
    zip: bytes = b""
    frame_ms: tuple[int, ...] = ()
    #: The animated preview (WebP) the gallery plays.
    preview: bytes = b""


def encode_synthetic(
    workdir: Path,
    *,
    frames: int,
    width: int,
    height: int,
    scale: int,
    seed: int,
    pattern: Pattern = "shapes",
    durations_ms: Sequence[float] | None = None,
) -> Encoded:
    tape = make_tape(
        workdir / "t.zip",
        frames=frames,
        width=width,
        height=height,
        scale=scale,
        seed=seed,
        pattern=pattern,
        durations_ms=durations_ms,
    )
    info = inspect_archive(tape.path)
    render_tape(
        lambda: iter_frames(tape.path, info),
        info.durations_ms,
        info.width,
        info.height,
        mp4_path=workdir / "t.mp4",
        thumbnail_path=workdir / "t-thumb.webp",
        preview_path=workdir / "t-preview.webp",
        settings=EncodeSettings(),
        progress=lambda _: None,
    )
    return Encoded(
        mp4=(workdir / "t.mp4").read_bytes(),
        thumbnail=(workdir / "t-thumb.webp").read_bytes(),
        width=info.width,
        height=info.height,
        frames=info.frames,
        duration_ms=round(info.total_duration_ms),
        zip=tape.path.read_bytes(),
        frame_ms=frame_timing(info.durations_ms).durations,
        preview=(workdir / "t-preview.webp").read_bytes(),
    )
