"""How bench/encode.py judges an MP4 against its tape: frames and duration out, PSNR per time
sample, and whether each source frame is the one shown at its midpoint."""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Quality:
    frames_out: int
    duration_ms: float
    psnr_db: float
    worst_psnr_db: float
    shown_right: int
    width: int
    height: int
    mp4_bytes: int


def _shown_at_midpoints(path: Path, midpoints: list[float]) -> Iterator[tuple[int, Any]]:
    """(source index, decoded RGB frame shown at that source frame's midpoint)."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        time_base = float(stream.time_base or 0)
        decoded = container.decode(stream)
        current = next(decoded)
        upcoming = next(decoded, None)
        shown: tuple[Any, Any] | None = None
        for index, midpoint in enumerate(midpoints):
            while upcoming is not None and (upcoming.pts or 0) * time_base * 1000 <= midpoint:
                current, upcoming = upcoming, next(decoded, None)
            if shown is None or shown[0] is not current:
                shown = (current, to_rgb(current))
            yield index, shown[1]


#: (Kr, Kb) of the Y'CbCr matrices: BT.709 when tagged so, else BT.601 (FFmpeg's default for
#: untagged RGB input, which is what (a) and (b) wrote).
_MATRICES = {1: (0.2126, 0.0722)}
_BT601 = (0.299, 0.114)


def to_rgb(frame: Any) -> Any:
    """Exact inverse of the frame's TV-range matrix, chroma repeated (not interpolated).

    swscale's own YUV->RGB is off by up to 3 levels on saturated colours, and its accurate mode
    shifts nearest-neighbour chroma by a pixel, either of which would blur the comparison.
    """
    import numpy as np

    kr, kb = _MATRICES.get(int(frame.colorspace), _BT601)
    y, cb, cr = (
        np.frombuffer(p, np.uint8).reshape(-1, p.line_size)[:, : p.width] for p in frame.planes
    )
    h, w = y.shape
    cb, cr = (np.repeat(np.repeat(c, 2, 0), 2, 1)[:h, :w] for c in (cb, cr))
    luma = (y.astype(np.float32) - 16) / 219
    r = luma + (2 - 2 * kr) * (cr.astype(np.float32) - 128) / 224
    b = luma + (2 - 2 * kb) * (cb.astype(np.float32) - 128) / 224
    g = (luma - kr * r - kb * b) / (1 - kr - kb)
    rgb = np.stack([r, g, b], -1) * 255
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def measure(path: Path, tape: Any) -> Quality:
    import av
    import numpy as np

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames_out = sum(1 for _ in container.decode(stream))
        duration_ms = (container.duration or 0) / 1000
        width, height = stream.codec_context.width, stream.codec_context.height
    starts = [0.0]
    for duration in tape.durations_ms:
        starts.append(starts[-1] + duration)
    midpoints = [(a + b) / 2 for a, b in itertools.pairwise(starts)]
    factor = width // tape.width
    errors, worst, right = [], float("inf"), 0
    sources = [tape.frame(i) for i in range(tape.frames)]
    for index, shown in _shown_at_midpoints(path, midpoints):
        source = sources[index]
        blocks = shown[: tape.height * factor, : tape.width * factor].reshape(
            tape.height, factor, tape.width, factor, 3
        )
        diff = blocks.astype(np.int16) - source[:, None, :, None, :]
        mse = float(np.square(diff, dtype=np.int32).mean())
        errors.append(mse)
        worst = min(worst, _psnr(mse))
        # "Shown right": the block centres are closer to this source frame than to its neighbours.
        centres = blocks[:, factor // 2, :, factor // 2].astype(np.int32)
        near = [j for j in (index - 1, index + 1) if 0 <= j < tape.frames]
        own = float(np.square(centres - source).mean())
        others = [float(np.square(centres - sources[j]).mean()) for j in near]
        right += all(own < other for other in others)
    return Quality(
        frames_out=frames_out,
        duration_ms=duration_ms,
        psnr_db=_psnr(statistics.fmean(errors)),
        worst_psnr_db=worst,
        shown_right=right,
        width=width,
        height=height,
        mp4_bytes=path.stat().st_size,
    )


def _psnr(mse: float) -> float:
    import math

    return float("inf") if mse == 0 else 10 * math.log10(255**2 / mse)
