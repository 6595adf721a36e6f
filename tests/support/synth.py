"""Deterministic synthetic tapes for tests and benchmarks.

A tape made here has the shape the browser recorder produces (see ``docs/tape-format.md``): PNG
frames upscaled by nearest neighbour, stored (not deflated) in a ZIP like fflate writes them, a
``timing.json`` with jittered ~60 fps durations and a few long pauses, and a canonical
``metadata.json``. Every frame is a pure function of ``(seed, index)``, so a test can regenerate
any source frame with :meth:`SynthTape.frame` and compare it with what the pipeline decoded.
"""

from __future__ import annotations

import io
import itertools
import json
import math
import os
import zipfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np

Pattern = Literal["shapes", "flat", "bars"]

#: Known colours of the "flat" and "bars" patterns (frame i of "flat" is PALETTE[i % 8]).
PALETTE: Final = np.array(
    [
        (0, 0, 0),
        (255, 255, 255),
        (255, 0, 0),
        (0, 255, 0),
        (0, 0, 255),
        (255, 255, 0),
        (0, 255, 255),
        (255, 0, 255),
    ],
    dtype=np.uint8,
)

#: Colours of the "shapes" pattern: a creative-coding palette (flat fills, no gradients).
_SHAPE_COLOURS: Final = np.array(
    [
        (230, 57, 70),
        (241, 250, 238),
        (168, 218, 220),
        (69, 123, 157),
        (255, 183, 3),
        (42, 157, 143),
        (233, 196, 106),
        (244, 162, 97),
    ],
    dtype=np.uint8,
)

CREATED: Final = "2025-10-17T12:30:00.000Z"
FRAME_MS: Final = 1000 / 60
_ZIP_DATE: Final = (2025, 10, 17, 12, 30, 0)


# --------------------------------------------------------------------------------------------
# Frames


@dataclass(frozen=True)
class _Shape:
    circle: bool
    colour: np.ndarray
    radius: float
    x: float
    y: float
    vx: float
    vy: float


def _shapes(seed: int, width: int, height: int) -> list[_Shape]:
    rng = np.random.default_rng([seed, 1])
    side = min(width, height)
    return [
        _Shape(
            circle=bool(rng.integers(2)),
            colour=_SHAPE_COLOURS[rng.integers(len(_SHAPE_COLOURS))],
            radius=float(rng.uniform(side / 16, side / 5)) + 1,
            x=float(rng.uniform(0, width)),
            y=float(rng.uniform(0, height)),
            vx=float(rng.uniform(-3, 3)),
            vy=float(rng.uniform(-3, 3)),
        )
        for _ in range(5)
    ]


def _wrap(position: float, limit: int, margin: float) -> int:
    # Shapes leave one side and come back on the other, fully off screen in between.
    span = limit + 2 * margin
    return round((position + margin) % span - margin)


def _draw_shape(image: np.ndarray, shape: _Shape, index: int) -> None:
    height, width = image.shape[:2]
    r = shape.radius
    cx = _wrap(shape.x + shape.vx * index, width, r)
    cy = _wrap(shape.y + shape.vy * index, height, r)
    x0, x1 = max(0, round(cx - r)), min(width, round(cx + r))
    y0, y1 = max(0, round(cy - r)), min(height, round(cy + r))
    if x0 >= x1 or y0 >= y1:
        return
    region = image[y0:y1, x0:x1]
    if not shape.circle:
        region[:] = shape.colour
        return
    ys, xs = np.ogrid[y0:y1, x0:x1]
    region[(xs - cx) ** 2 + (ys - cy) ** 2 <= r * r] = shape.colour


def _shapes_frame(index: int, width: int, height: int, seed: int, noise: float) -> np.ndarray:
    background = _SHAPE_COLOURS[seed % len(_SHAPE_COLOURS)] // 6  # dark, like most sketches
    image = np.empty((height, width, 3), np.uint8)
    image[:] = background
    for shape in _shapes(seed, width, height):
        _draw_shape(image, shape, index)
    # A sprinkle of noise (1 % of pixels by default) so frames are not trivially compressible;
    # "noise-heavy" tapes raise it.
    rng = np.random.default_rng([seed, 2, index])
    count = max(1, int(width * height * noise))
    ys, xs = rng.integers(height, size=count), rng.integers(width, size=count)
    image[ys, xs] = rng.integers(256, size=(count, 3), dtype=np.uint8)
    return image


def _bars_frame(index: int, width: int, height: int) -> np.ndarray:
    # Vertical bars of PALETTE colours, shifted by one bar per frame so consecutive frames differ.
    bar = (np.arange(width) * len(PALETTE) // width + index) % len(PALETTE)
    return np.broadcast_to(PALETTE[bar], (height, width, 3)).copy()


def _alpha_channel(width: int, height: int) -> np.ndarray:
    # Opaque except the top quarter, where alpha ramps from 0 (left) to 255 (right).
    alpha = np.full((height, width, 1), 255, np.uint8)
    ramp = (np.arange(width) * 255 // max(1, width - 1)).astype(np.uint8)
    alpha[: max(1, height // 4), :, 0] = ramp
    return alpha


def make_frame(
    index: int,
    *,
    width: int = 256,
    height: int = 256,
    seed: int = 0,
    pattern: Pattern = "shapes",
    alpha: bool = False,
    noise: float = 0.01,
) -> np.ndarray:
    """Frame ``index`` at 1x: (height, width, 3) RGB, or (height, width, 4) RGBA if ``alpha``."""
    if pattern == "shapes":
        image = _shapes_frame(index, width, height, seed, noise)
    elif pattern == "flat":
        image = np.empty((height, width, 3), np.uint8)
        image[:] = PALETTE[(index + seed) % len(PALETTE)]
    elif pattern == "bars":
        image = _bars_frame(index + seed, width, height)
    else:
        raise ValueError(f"unknown pattern {pattern!r}")
    if alpha:
        image = np.concatenate([image, _alpha_channel(width, height)], axis=2)
    return image


def make_frames(
    frames: int = 60,
    *,
    width: int = 256,
    height: int = 256,
    seed: int = 0,
    pattern: Pattern = "shapes",
    alpha: bool = False,
) -> Iterator[np.ndarray]:
    """The 1x source frames of a tape, without writing anything."""
    for index in range(frames):
        yield make_frame(index, width=width, height=height, seed=seed, pattern=pattern, alpha=alpha)


def composite_over_black(image: np.ndarray) -> np.ndarray:
    """What a reader shows for an RGBA frame: colour * alpha / 255, rounded (opaque canvas on a
    black page). RGB frames come back unchanged."""
    if image.shape[2] == 3:
        return image
    colour, alpha = image[:, :, :3].astype(np.uint16), image[:, :, 3:].astype(np.uint16)
    return ((colour * alpha + 127) // 255).astype(np.uint8)


def upscale(image: np.ndarray, scale: int) -> np.ndarray:
    """Nearest-neighbour upscale by an integer factor, as the recorder stores frames."""
    if scale == 1:
        return image
    # Widen rows once, then copy each row ``scale`` times: ~7x faster than a 5-D broadcast copy.
    h, w, c = image.shape
    rows = np.repeat(image, scale, axis=1)
    out = np.empty((h, scale, w * scale, c), image.dtype)
    out[:] = rows[:, None]
    return out.reshape(h * scale, w * scale, c)


def encode_png(image: np.ndarray) -> bytes:
    """PNG bytes tuned for speed: zlib level 2 with the SUB filter (zlib-ng's level 1 is as fast
    but writes 3x larger files for upscaled pixel art, which also decode slower)."""
    try:
        from imagecodecs import png_encode
    except ImportError:  # pragma: no cover - imagecodecs is a dependency
        from PIL import Image

        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, "PNG", compress_level=2)
        return buffer.getvalue()
    return bytes(png_encode(image.copy(order="C"), level=2, filter=16))


# --------------------------------------------------------------------------------------------
# Timing and metadata


def frame_name(index: int) -> str:
    return f"frame{index:06d}.png"


def make_durations(frames: int, *, seed: int = 0, pauses: bool = True) -> tuple[float, ...]:
    """~60 fps with jitter (browsers never deliver exact 16.67 ms), plus a few 250-800 ms pauses
    (a tab switch, a slow frame) when ``pauses``."""
    rng = np.random.default_rng([seed, 3])
    durations = np.clip(FRAME_MS + rng.normal(0, 1.2, frames), 10, 30)
    if pauses and frames >= 10:
        count = min(3, frames // 20) or 1
        at = rng.choice(np.arange(1, frames), size=count, replace=False)
        durations[at] = rng.uniform(250, 800, count)
    return tuple(round(float(d), 1) for d in durations)


def _is_finite_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def timing_document(durations_ms: Sequence[Any]) -> list[dict[str, Any]]:
    rows, elapsed = [], 0.0
    for index, duration in enumerate(durations_ms):
        rows.append({"filename": frame_name(index), "duration": duration, "timestamp": elapsed})
        if _is_finite_number(duration):  # invalid durations (for bad tapes) do not advance time
            elapsed = round(elapsed + duration, 3)
    return rows


def legacy_metadata(
    *, width: int, height: int, stored_scale: int, frames: int, total_ms: float, scale: bool = True
) -> dict[str, Any]:
    """``metadata_overrides`` that turn ``make_tape``'s metadata.json into the original recorder's
    export shape (no piece, frames, duration, fps, resolution or created; sizes and counts in
    its own keys). ``scale``: whether the export names its scale (older ones did not)."""
    overrides: dict[str, Any] = {
        "piece": None,
        "frames": None,
        "duration": None,
        "fps": None,
        "resolution": None,
        "created": None,
        "originalSize": {"width": width, "height": height},
        "scaledSize": {"width": width * stored_scale, "height": height * stored_scale},
        "frameCount": frames,
        "totalDuration": total_ms,
        "exportedAt": "2025-10-17T12:30:00.123Z",
    }
    if scale:
        overrides["scale"] = stored_scale
    return overrides


def metadata_document(
    *,
    piece: str | None,
    frames: int,
    durations_ms: Sequence[float],
    width: int,
    height: int,
    scale: int,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Canonical metadata.json; ``overrides`` merge shallowly and a ``None`` value drops a key."""
    total = sum(d for d in durations_ms if _is_finite_number(d))
    doc: dict[str, Any] = {
        "piece": piece,
        "frames": frames,
        "duration": round(total, 3),
        "fps": 60,
        "resolution": {
            "width": width * scale,
            "height": height * scale,
            "originalWidth": width,
            "originalHeight": height,
            "scale": scale,
        },
        "created": CREATED,
    }
    for key, value in (overrides or {}).items():
        if value is None:
            doc.pop(key, None)
        else:
            doc[key] = value
    return doc


def json_bytes(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


def write_zip(
    path: str | os.PathLike[str],
    entries: Iterable[tuple[str, bytes]],
    *,
    compression: int = zipfile.ZIP_STORED,
) -> Path:
    """Write ``(name, bytes)`` entries in order with fixed dates (reruns are byte-identical)."""
    path = Path(path)
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = compression
            info.external_attr = 0o100644 << 16
            zf.writestr(info, data)
    return path


# --------------------------------------------------------------------------------------------
# Tapes


@dataclass(frozen=True)
class SynthTape:
    """A written synthetic tape and the means to regenerate its source frames."""

    path: Path
    durations_ms: tuple[float, ...]
    width: int
    height: int
    scale: int
    frames: int
    seed: int = 0
    pattern: Pattern = "shapes"
    alpha: bool = False
    noise: float = 0.01
    metadata: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def stored_width(self) -> int:
        return self.width * self.scale

    @property
    def stored_height(self) -> int:
        return self.height * self.scale

    @property
    def total_duration_ms(self) -> float:
        return float(sum(self.durations_ms))

    def source(self, index: int) -> np.ndarray:
        """The 1x frame as drawn (RGBA when ``alpha``)."""
        return make_frame(
            index,
            width=self.width,
            height=self.height,
            seed=self.seed,
            pattern=self.pattern,
            alpha=self.alpha,
            noise=self.noise,
        )

    def frame(self, index: int) -> np.ndarray:
        """The 1x RGB frame a correct reader yields (alpha composited over black)."""
        return composite_over_black(self.source(index))


def make_tape(
    path: str | os.PathLike[str],
    *,
    frames: int = 60,
    width: int = 256,
    height: int = 256,
    scale: int = 6,
    seed: int = 0,
    piece: str = "synth",
    durations_ms: Sequence[float] | None = None,
    pattern: Literal["shapes", "flat", "bars"] = "shapes",
    alpha: bool = False,
    noise: float = 0.01,
    pauses: bool = True,
    metadata_overrides: dict[str, Any] | None = None,
) -> SynthTape:
    """Write a synthetic tape ZIP at ``path`` (frames stored ``scale`` x larger) and describe it.

    ``durations_ms`` is written verbatim (any values, for building invalid tapes) and must have
    one entry per frame; by default see :func:`make_durations`.
    """
    if frames < 0 or width < 1 or height < 1 or scale < 1:
        raise ValueError("frames must be >= 0; width, height and scale >= 1")
    if durations_ms is None:
        durations_ms = make_durations(frames, seed=seed, pauses=pauses)
    if len(durations_ms) != frames:
        raise ValueError(f"{len(durations_ms)} durations for {frames} frames")
    metadata = metadata_document(
        piece=piece,
        frames=frames,
        durations_ms=durations_ms,
        width=width,
        height=height,
        scale=scale,
        overrides=metadata_overrides,
    )
    tape = SynthTape(
        path=Path(path),
        durations_ms=tuple(durations_ms),
        width=width,
        height=height,
        scale=scale,
        frames=frames,
        seed=seed,
        pattern=pattern,
        alpha=alpha,
        noise=noise,
        metadata=metadata,
    )

    def render(index: int) -> tuple[str, bytes]:
        return frame_name(index), encode_png(upscale(tape.source(index), scale))

    tail = [
        ("timing.json", json_bytes(timing_document(durations_ms))),
        ("metadata.json", json_bytes(metadata)),
    ]
    write_zip(tape.path, itertools.chain(_ordered_map(render, frames), tail))
    return tape


def _ordered_map(
    func: Callable[[int], tuple[str, bytes]], count: int, workers: int = 2
) -> Iterator[tuple[str, bytes]]:
    # zlib and numpy release the GIL, so two threads nearly halve the time on 2 cores; the window
    # keeps only a few encoded frames in memory (Executor.map would queue them all).
    with ThreadPoolExecutor(workers, thread_name_prefix="synth") as pool:
        pending: deque[Future[tuple[str, bytes]]] = deque()
        for index in range(count):
            pending.append(pool.submit(func, index))
            if len(pending) > 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def make_held_tape(
    path: str | os.PathLike[str], pictures: Sequence[int], durations_ms: Sequence[float]
) -> list[np.ndarray]:
    """A 1x 32x24 tape whose frame ``i`` is the "shapes" picture ``pictures[i]``: a picture
    repeated in a row is a held moment (the same PNG bytes again). Returns the 1x frames."""
    frames = [make_frame(p, width=32, height=24, seed=7) for p in pictures]
    entries = [(frame_name(i), encode_png(f)) for i, f in enumerate(frames)]
    timing = timing_document(durations_ms)
    meta = metadata_document(
        piece="held",
        frames=len(frames),
        durations_ms=durations_ms,
        width=32,
        height=24,
        scale=1,
    )
    entries += [("timing.json", json_bytes(timing)), ("metadata.json", json_bytes(meta))]
    write_zip(path, entries)
    return frames
