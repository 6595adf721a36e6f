"""Sizes: the video's integer upscale, the preview's size, and nearest-neighbour resizing."""

from __future__ import annotations

import numpy as np


def output_geometry(width: int, height: int, max_long_side: int = 540) -> tuple[int, int, int]:
    """``(out_width, out_height, factor)`` of the video for a ``width`` x ``height`` drawing.

    The largest even factor whose long side fits ``max_long_side``; else 1x, with odd dimensions
    rounded up to even (the extra row/column repeats the edge, see :func:`pad_to_even`).
    """
    if width < 1 or height < 1:
        raise ValueError(f"bad size {width}x{height}")
    factor = max_long_side // max(width, height)
    factor -= factor % 2
    if factor >= 2:
        return width * factor, height * factor, factor
    return width + width % 2, height + height % 2, 1


def pad_to_even(image: np.ndarray) -> np.ndarray:
    height, width = image.shape[:2]
    if width % 2 == 0 and height % 2 == 0:
        return image
    return np.pad(image, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge")


def nearest(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Nearest-neighbour resize to ``width`` x ``height`` (pixel centres, so a 2x downscale picks
    every other pixel and an integer upscale repeats each pixel exactly)."""
    src_h, src_w = image.shape[:2]
    if (src_w, src_h) == (width, height):
        return image
    if width % src_w == 0 and height % src_h == 0:
        fy, fx = height // src_h, width // src_w
        blocks = np.broadcast_to(image[:, None, :, None], (src_h, fy, src_w, fx, image.shape[2]))
        return blocks.reshape(height, width, image.shape[2])
    rows = ((np.arange(height) + 0.5) * src_h / height).astype(np.intp)
    cols = ((np.arange(width) + 0.5) * src_w / width).astype(np.intp)
    return image[rows[:, None], cols[None, :]]


def preview_geometry(width: int, height: int, preview_size: int) -> tuple[int, int]:
    long_side = max(width, height)
    if long_side <= preview_size:
        factor = preview_size // long_side
        return width * factor, height * factor
    scale = preview_size / long_side
    return max(1, round(width * scale)), max(1, round(height * scale))
