"""A synthetic tape (``synth.make_tape``) really encoded by our encoder, for tests and benchmarks
that need a genuine MP4 and thumbnail but are not about encoding."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tapes.archive import inspect_archive, iter_frames
from tapes.encoder import EncodeSettings, render_tape
from tests.support.synth import make_tape


@dataclass(frozen=True)
class Encoded:
    mp4: bytes
    thumbnail: bytes
    width: int
    height: int
    frames: int
    duration_ms: int


def encode_synthetic(
    workdir: Path, *, frames: int, width: int, height: int, scale: int, seed: int
) -> Encoded:
    tape = make_tape(
        workdir / "t.zip", frames=frames, width=width, height=height, scale=scale, seed=seed
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
    )
