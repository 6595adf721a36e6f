"""The burst benchmark's tapes: what someone drawing in the recorder makes (bench/burst.py).

1x 256x192 at ~60 fps with a browser's jitter, 3-10 s each: a pen wanders and leaves a round
stroke on a plain ground, lifting now and then. One deterministic seed per tape; written once as
tape ZIPs into .cache/bench/burst and reused. Imported by bench/burst.py, which puts the
project on the path.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from production import ROOT

from tests.support.synth import (
    encode_png,
    frame_name,
    json_bytes,
    make_durations,
    metadata_document,
    timing_document,
    write_zip,
)

CACHE = ROOT / ".cache" / "bench" / "burst"
WIDTH, HEIGHT, FPS = 256, 192, 60
#: Bumped when the drawing changes, so cached tapes are rewritten.
DRAWING_VERSION = 2
FIRST_SEED = 1000

PAPERS = np.array([(250, 248, 240), (255, 255, 255), (238, 243, 247), (252, 244, 228)], np.uint8)
INKS = np.array(
    [(24, 24, 28), (230, 57, 70), (29, 53, 87), (42, 157, 143), (244, 162, 97), (106, 76, 147)],
    np.uint8,
)


def _dab(canvas: np.ndarray, cx: float, cy: float, radius: float, ink: np.ndarray) -> None:
    height, width = canvas.shape[:2]
    x0, x1 = max(0, math.floor(cx - radius)), min(width, math.ceil(cx + radius) + 1)
    y0, y1 = max(0, math.floor(cy - radius)), min(height, math.ceil(cy + radius) + 1)
    if x0 >= x1 or y0 >= y1:
        return
    ys, xs = np.ogrid[y0:y1, x0:x1]
    canvas[y0:y1, x0:x1][(xs - cx) ** 2 + (ys - cy) ** 2 <= radius * radius] = ink


def drawing_frames(
    seed: int, frames: int, *, width: int = WIDTH, height: int = HEIGHT
) -> Iterator[np.ndarray]:
    """What someone drawing makes, frame by frame: a pen wanders (a few pixels a frame, turning
    smoothly, bouncing off the edges) and leaves a round stroke on a plain ground; now and then
    it lifts for a moment and comes down elsewhere in another ink and width. Nothing is erased,
    so each frame is the one before plus at most one short segment."""
    rng = np.random.default_rng([seed, 17])
    canvas = np.empty((height, width, 3), np.uint8)
    canvas[:] = PAPERS[seed % len(PAPERS)]

    def pen_down() -> tuple[float, float, float, np.ndarray, float]:
        return (
            float(rng.uniform(0.15, 0.85) * width),
            float(rng.uniform(0.15, 0.85) * height),
            float(rng.uniform(0, 2 * math.pi)),
            INKS[rng.integers(len(INKS))],
            float(rng.choice([1.0, 1.5, 2.5, 4.0])),
        )

    x, y, heading, ink, radius = pen_down()
    lifted = 0
    for _ in range(frames):
        if lifted:
            lifted -= 1
            if not lifted:
                x, y, heading, ink, radius = pen_down()
        else:
            heading += float(rng.normal(0, 0.3))
            speed = float(rng.uniform(1.5, 4.5))
            nx, ny = x + math.cos(heading) * speed, y + math.sin(heading) * speed
            if not radius <= nx <= width - radius:
                heading = math.pi - heading
                nx = min(max(nx, radius), width - radius)
            if not radius <= ny <= height - radius:
                heading = -heading
                ny = min(max(ny, radius), height - radius)
            steps = max(1, math.ceil(speed))
            for step in range(1, steps + 1):
                t = step / steps
                _dab(canvas, x + (nx - x) * t, y + (ny - y) * t, radius, ink)
            x, y = nx, ny
            if rng.random() < 1 / 50:
                lifted = int(rng.integers(4, 30))
        yield canvas.copy()


@dataclass(frozen=True)
class BurstTape:
    index: int
    seed: int
    frames: int
    path: Path

    @property
    def duration_ms(self) -> float:
        return float(sum(durations(self.frames, self.seed)))


def durations(frames: int, seed: int) -> tuple[float, ...]:
    """~60 fps with a browser's jitter. The recorder keeps recording while the pen is up (the
    picture just repeats), so no long pauses: those are a tab switch, not drawing."""
    return make_durations(frames, seed=seed, pauses=False)


def tape_plan(count: int) -> list[tuple[int, int]]:
    """(seed, frames) of each tape: 3-10 s of drawing at 60 fps, drawn from the seed (a little
    inside the range, so the jitter cannot take a tape out of it)."""
    plan = []
    for index in range(count):
        seed = FIRST_SEED + index
        seconds = float(np.random.default_rng([seed, 5]).uniform(3.05, 9.95))
        plan.append((seed, round(seconds * FPS)))
    return plan


def write_drawing_tape(path: Path, *, seed: int, frames: int) -> None:
    times = durations(frames, seed)
    metadata = metadata_document(
        piece="burst", frames=frames, durations_ms=times, width=WIDTH, height=HEIGHT, scale=1
    )
    entries = (
        (frame_name(i), encode_png(image)) for i, image in enumerate(drawing_frames(seed, frames))
    )
    tail = [
        ("timing.json", json_bytes(timing_document(times))),
        ("metadata.json", json_bytes(metadata)),
    ]
    partial = path.with_suffix(".partial")
    write_zip(partial, [*entries, *tail])
    partial.replace(path)


def ensure_tapes(count: int) -> list[BurstTape]:
    CACHE.mkdir(parents=True, exist_ok=True)
    tapes = []
    for index, (seed, frames) in enumerate(tape_plan(count)):
        path = CACHE / f"drawing-v{DRAWING_VERSION}-{seed}-{frames}f.zip"
        if not path.exists():
            write_drawing_tape(path, seed=seed, frames=frames)
        tapes.append(BurstTape(index=index, seed=seed, frames=frames, path=path))
    return tapes
