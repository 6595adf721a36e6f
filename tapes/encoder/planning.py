"""The plan of one video (size, timing, frame-rate hint) and its rate control."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Final

from tapes.encoder.errors import EncodeError
from tapes.encoder.geometry import output_geometry
from tapes.encoder.options import EncodeSettings
from tapes.timing import FrameTiming, frame_timing

_MAX_RATE_HINT: Final = 120

#: x264's default ``vbv-init``: the decoder buffer starts this full, so a pass may spend this
#: fraction of ``bufsize`` on top of ``maxrate * duration``.
_VBV_INIT: Final = 0.9


@dataclass(frozen=True)
class VideoPlan:
    source_width: int
    source_height: int
    width: int
    height: int
    factor: int
    timing: FrameTiming
    rate_hint: int

    @property
    def frames(self) -> int:
        return len(self.timing)

    def at_factor(self, factor: int) -> VideoPlan:
        """The same video upscaled by ``factor`` instead (1: the 1x size, padded to even)."""
        if factor == self.factor:
            return self
        w, h = self.source_width, self.source_height
        if factor == 1:
            return replace(self, width=w + w % 2, height=h + h % 2, factor=1)
        return replace(self, width=w * factor, height=h * factor, factor=factor)


@dataclass(frozen=True)
class Rung:
    """One way to encode the video: an upscale, a CRF, a VBV ``maxrate`` (bit/s) and the entropy
    coder (CABAC, or CAVLC within ``share`` of the budget)."""

    factor: int
    crf: int
    bitrate: int
    #: The capped-bitrate fallback: retried at lower rates instead of abandoned.
    fallback: bool = False
    cabac: bool = True
    #: The share of ``max_bytes`` this rung's pass may be projected to fill before it is
    #: abandoned (less than all for CAVLC, whose extra bytes are worth it only with room).
    share: float = 1.0


def plan_video(
    durations_ms: Sequence[float], width: int, height: int, settings: EncodeSettings
) -> VideoPlan:
    try:
        timing = frame_timing(durations_ms)
    except ValueError as exc:
        raise EncodeError("encode_bad_timing", str(exc)) from exc
    if not timing.pts:
        raise EncodeError("encode_no_frames", "A tape needs at least one frame.")
    try:
        out_w, out_h, factor = output_geometry(width, height, settings.max_long_side)
    except ValueError as exc:
        raise EncodeError("encode_bad_size", str(exc)) from exc
    return VideoPlan(width, height, out_w, out_h, factor, timing, framerate_hint(durations_ms))


def framerate_hint(durations_ms: Sequence[float]) -> int:
    """Typical frames per second (from the median input duration, not the rounded integer ones,
    which turn 60 fps into 62), for the H.264 level only."""
    positive = [d for d in durations_ms if d > 0]
    if not positive:
        return 1
    return max(1, min(_MAX_RATE_HINT, round(1000 / statistics.median(positive))))


def target_bitrate(total_ms: int, settings: EncodeSettings) -> int:
    """``maxrate`` in bit/s (and ``bufsize`` in bits: one second's worth) that keeps ``total_ms``
    of video under ``size_safety * max_bytes`` even if every frame hits the VBV limit.

    The bound is ``maxrate * duration + vbv_init * bufsize``; ignoring the buffer term (``maxrate
    = budget / duration``) lets a 1 s tape spend nearly twice its budget.
    """
    seconds = max(total_ms, 1) / 1000
    rate = settings.size_safety * settings.max_bytes * 8 / (seconds + _VBV_INIT)
    return max(1000, min(settings.max_bitrate, int(rate)))


#: Optimistic size ratios, to skip rungs that cannot fit until the tape's own passes say better:
#: a CRF step of 4 never saved more than ~35 % on the test tapes, and the step from the full
#: upscale to 1x ~50 %.
CRF_STEP_RATIO: Final = 0.65
ONE_X_RATIO: Final = 0.5
#: CABAC against CAVLC at the same rung: 0.78 on the noisiest test tape, less on drawings.
CABAC_RATIO: Final = 0.7


def quality_ladder(plan: VideoPlan, settings: EncodeSettings) -> list[Rung]:
    """The rungs to try, best first: the first in CAVLC (within ``cavlc_share`` of the budget),
    then in CABAC the full upscale from CRF ``crf`` up to ``crf_crisp``, 1x over the same CRFs,
    and 1x at ``crf_crisp`` with the bitrate capped to the budget."""
    crfs = list(range(settings.crf, settings.crf_crisp + 1, settings.crf_step))
    if crfs[-1] != settings.crf_crisp:
        crfs.append(settings.crf_crisp)
    factors = [plan.factor] + ([1] if plan.factor > 1 else [])
    level = settings.max_bitrate
    rungs = [Rung(factor, crf, level) for factor in factors for crf in crfs]
    if settings.cavlc_share > 0:
        rungs.insert(0, replace(rungs[0], cabac=False, share=settings.cavlc_share))
    budget = target_bitrate(plan.timing.total_ms, settings)
    rungs.append(Rung(1, settings.crf_crisp, min(level, budget), fallback=True))
    return rungs


def predicted_ratio(
    source: Rung,
    target: Rung,
    step: int,
    crf_step_ratio: float = CRF_STEP_RATIO,
    one_x_ratio: float = ONE_X_RATIO,
) -> float:
    """The size of ``target`` relative to ``source``, from the per-step ratios given."""
    ratio = crf_step_ratio ** (max(0, target.crf - source.crf) / step)
    if target.factor < source.factor:
        ratio *= one_x_ratio
    if target.cabac and not source.cabac:
        ratio *= CABAC_RATIO
    return ratio
