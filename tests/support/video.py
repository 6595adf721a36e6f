"""Reading encoded tapes back, for tests and benchmarks: decoded planes and the flat-area error.

Errors are measured on the decoded Y'CbCr planes against the exact BT.709 TV-range values of the
source, in code values, never through swscale's YUV->RGB path (itself off by up to 3 levels).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

Planes = tuple[np.ndarray, np.ndarray, np.ndarray]


def decoded_planes(path: Path) -> Iterator[Planes]:
    """Y, Cb, Cr of every decoded frame, in presentation order."""
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            assert frame.format.name == "yuv420p"
            yield tuple(  # type: ignore[misc]
                np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)[:, : plane.width]
                for plane in frame.planes
            )


def bt709(rgb: np.ndarray) -> np.ndarray:
    """Exact BT.709 TV-range Y'CbCr of 8-bit RGB, rounded: (..., 3) int."""
    r, g, b = np.moveaxis(rgb.astype(np.float64) / 255, -1, 0)
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    ycc = np.stack([16 + 219 * y, 128 + 224 * (b - y) / 1.8556, 128 + 224 * (r - y) / 1.5748], -1)
    return np.round(ycc).astype(np.int64)


def flat_mask(rgb: np.ndarray) -> np.ndarray:
    """Pixels whose 3x3 neighbourhood (inside the image) is one colour: (h, w) bool."""
    packed = (
        (rgb[:, :, 0].astype(np.int32) << 16) | (rgb[:, :, 1].astype(np.int32) << 8) | rgb[:, :, 2]
    )
    padded = np.pad(packed, 1, mode="edge")
    h, w = packed.shape
    flat = np.ones((h, w), bool)
    for dy in range(3):
        for dx in range(3):
            flat &= padded[dy : dy + h, dx : dx + w] == packed
    return flat


def flat_errors(rgb: np.ndarray, planes: Planes, factor: int) -> np.ndarray:
    """Worst code-value error (over Y, Cb and Cr) of each flat 1x pixel of ``rgb`` in the decoded
    ``planes`` of a video that shows it upscaled by ``factor``: a 1-D int array."""
    h, w = rgb.shape[:2]
    want = bt709(rgb)
    y, cb, cr = (p.astype(np.int64) for p in planes)
    luma = y[: h * factor, : w * factor].reshape(h, factor, w, factor)
    worst = np.abs(luma - want[:, None, :, None, 0]).max(axis=(1, 3))
    # Chroma: one sample per 2x2 output pixels. For even factors a 1x pixel owns (factor/2)^2
    # samples; at 1x a sample covers the 2x2 block holding the pixel, inside its flat 3x3.
    for plane, channel in ((cb, 1), (cr, 2)):
        if factor % 2 == 0:
            half = factor // 2
            block = plane[: h * half, : w * half].reshape(h, half, w, half)
            error = np.abs(block - want[:, None, :, None, channel]).max(axis=(1, 3))
        else:
            rows, cols = np.arange(h) * factor // 2, np.arange(w) * factor // 2
            error = np.abs(plane[rows[:, None], cols[None, :]] - want[:, :, channel])
        worst = np.maximum(worst, error)
    return worst[flat_mask(rgb)]


@dataclass(frozen=True)
class FlatError:
    p99: float
    worst: int
    pixels: int  # flat 1x pixels measured, over all frames


def flat_error(
    mp4: Path, frames: Iterable[np.ndarray] | Callable[[int], np.ndarray], factor: int
) -> FlatError:
    """The flat-area error of a frame-exact MP4 (one decoded frame per source frame) against its
    1x source ``frames`` (an iterable, or a function of the index)."""
    source = frames if not callable(frames) else (frames(i) for i in range(1 << 30))
    # A histogram over code-value errors keeps memory flat for long tapes.
    histogram = np.zeros(256, np.int64)
    for planes, rgb in zip(decoded_planes(mp4), source, strict=False):
        histogram += np.bincount(flat_errors(rgb, planes, factor), minlength=256)[:256]
    total = int(histogram.sum())
    if total == 0:
        return FlatError(0.0, 0, 0)
    cumulative = np.cumsum(histogram)
    p99 = int(np.searchsorted(cumulative, 0.99 * total))
    return FlatError(float(p99), int(np.nonzero(histogram)[0].max()), total)


def entropy_coder(path: Path) -> str:
    """ "cabac" or "cavlc": the entropy_coding_mode_flag of the MP4's H.264 picture parameter set
    (from its avcC box; x264 writes one SPS and one PPS, both id 0)."""
    with av.open(str(path)) as container:
        avcc = bytes(container.streams.video[0].codec_context.extradata or b"")
    if len(avcc) < 7 or avcc[0] != 1:
        raise ValueError("no avcC in the MP4")
    at = 6
    for _ in range(avcc[5] & 0x1F):  # the SPSs, skipped
        at += 2 + int.from_bytes(avcc[at : at + 2], "big")
    count, at = avcc[at], at + 1
    if count < 1:
        raise ValueError("no PPS in the avcC")
    pps = avcc[at + 2 : at + 2 + int.from_bytes(avcc[at : at + 2], "big")]
    # After the NAL header: pic_parameter_set_id and seq_parameter_set_id, ue(v) 0 each (a
    # single 1 bit), then the flag.
    bits = pps[1]
    if bits & 0xC0 != 0xC0:
        raise ValueError("a PPS or SPS id other than 0")
    return "cabac" if bits & 0x20 else "cavlc"
