"""Per-frame timing maths: float millisecond durations to integer millisecond timestamps.

A tape's ``timing.json`` gives each frame's display duration in (fractional) milliseconds. The MP4
uses a 1/1000 time base, so every frame needs integer ``pts`` and ``duration``. Rounding each
duration on its own would let the error pile up (240 frames of 16.7 ms would drift by 72 ms), so
timestamps are rounded *cumulatively*::

    pts_i      = round(d_0 + ... + d_{i-1})
    duration_i = pts_{i+1} - pts_i          (pts_n = round(total))

This keeps every frame within 0.5 ms of its exact start and makes the total exactly
``round(sum(durations))``. Sums are exact (``Fraction`` of each float, so no float accumulation
error) and rounding is half-up (``floor(x + 0.5)``), not Python's banker's rounding.

**Inputs under 1 ms.** A frame must last at least 1 ms, otherwise two frames share a timestamp and
the muxer rejects non-increasing timestamps. When the cumulative grid would put a frame less than
1 ms after its predecessor, its start is pushed to ``previous + 1``. Later frames snap back to the
exact grid as soon as it is ahead of the pushed timestamps again, so the error from a run of tiny
frames is bounded by the run's shortfall and never accumulates past it. With every input
``>= 1 ms`` no push ever happens (``round`` is monotonic), so the 0.5 ms bound and the exact total
hold; with tiny inputs the total is ``max(round(total), pts_last + 1)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

MIN_DURATION_MS = 1


@dataclass(frozen=True, slots=True)
class FrameTiming:
    """Integer millisecond timestamps for every frame of a tape."""

    pts: tuple[int, ...]
    durations: tuple[int, ...]

    @property
    def total_ms(self) -> int:
        return self.pts[-1] + self.durations[-1] if self.pts else 0

    def __len__(self) -> int:
        return len(self.pts)


def frame_timing(durations_ms: Sequence[float]) -> FrameTiming:
    """Cumulatively rounded ``pts`` and ``duration`` (integer ms) for ``durations_ms``.

    Raises ``ValueError`` for negative or non-finite durations: those are archive errors the
    reader should have reported, and silently clamping them would hide a broken file.
    """
    for index, value in enumerate(durations_ms):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"frame {index}: duration {value!r} ms is not a finite number >= 0")

    starts, elapsed = _starts(durations_ms)
    if not starts:
        return FrameTiming(pts=(), durations=())
    end = max(_round_exact(elapsed), starts[-1] + MIN_DURATION_MS)
    bounds = [*starts, end]
    durations = tuple(bounds[i + 1] - bounds[i] for i in range(len(starts)))
    return FrameTiming(pts=tuple(starts), durations=durations)


def _starts(durations_ms: Sequence[float]) -> tuple[list[int], Fraction]:
    # Exact rational prefix sums: a float running sum can land on x.4999... where the true sum is
    # x.5, and then the same durations would round differently depending on their order.
    starts: list[int] = []
    elapsed = Fraction(0)
    previous: int | None = None
    for value in durations_ms:
        start = _round_exact(elapsed)
        if previous is not None and start < previous + MIN_DURATION_MS:
            start = previous + MIN_DURATION_MS
        starts.append(start)
        previous = start
        elapsed += Fraction(value)
    return starts, elapsed


def _round_exact(value: Fraction) -> int:
    return math.floor(value + Fraction(1, 2))
