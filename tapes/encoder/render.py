"""``render_tape``: quality by budget. Passes go down the quality ladder (planning.py) until one
fits; a pass that is going to overshoot is abandoned as soon as its projection says so. The
thumbnail, preview and GIF ride on the first pass that sees every frame (extras.py)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from tapes.encoder.errors import EncodeError, PathLike, converted, remove
from tapes.encoder.extras import WRITERS, Collectors, Extras
from tapes.encoder.mp4 import Observer, Progress, encode_mp4
from tapes.encoder.options import DEFAULT_SETTINGS, EncodeResult, EncodeSettings
from tapes.encoder.planning import (
    CRF_STEP_RATIO,
    ONE_X_RATIO,
    Rung,
    VideoPlan,
    plan_video,
    predicted_ratio,
    quality_ladder,
)

FrameSource = Callable[[], Iterable[np.ndarray]]

#: A pass whose average rate passes this share of its VBV ceiling is starving: treat it as too big.
_RATE_CEILING_SHARE = 0.95
_MIN_RATE_WINDOW_MS = 500


def render_tape(
    frames: FrameSource,
    durations_ms: Sequence[float],
    width: int,
    height: int,
    *,
    mp4_path: PathLike,
    thumbnail_path: PathLike | None = None,
    preview_path: PathLike | None = None,
    gif_path: PathLike | None = None,
    settings: EncodeSettings = DEFAULT_SETTINGS,
    progress: Progress | None = None,
) -> EncodeResult:
    """Encode the tape whose 1x RGB uint8 frames ``frames()`` yields, ``durations_ms`` per frame,
    into ``mp4_path`` and, when given, ``thumbnail_path``, ``preview_path`` and ``gif_path`` (see
    docs/encoding.md). Without them only the MP4 is written (and their result fields are 0).

    ``frames`` is called once per pass and must return a fresh iterator each time. ``progress``
    receives non-decreasing values from 0 to 1. Raises :class:`EncodeError` (or whatever the
    frames raise, e.g. an ArchiveError) and then leaves none of the files behind.
    """
    started = time.perf_counter()
    plan = plan_video(durations_ms, width, height, settings)
    try:
        result = _Render(frames, plan, settings, _Reporter(progress)).run(
            mp4_path, Extras(thumbnail_path, preview_path, gif_path)
        )
    except BaseException:
        for path in (mp4_path, thumbnail_path, preview_path, gif_path):
            remove(path)
        raise
    result.seconds = time.perf_counter() - started
    return result


def _cap(rung: Rung, settings: EncodeSettings) -> int:
    """The bytes ``rung``'s video may be projected to take before its pass is abandoned."""
    return int(settings.max_bytes * rung.share)


class _Abandoned(Exception):
    def __init__(self, projected: int, reason: str) -> None:
        super().__init__(reason)
        self.projected = projected
        self.reason = reason


class _Watch:
    """Abandons a pass that will not fit: more bytes than the cap already, a projection over
    ``abandon_margin`` x the cap, or an average rate near the pass's VBV ceiling (the encoder
    would starve the picture to stay under it)."""

    def __init__(self, plan: VideoPlan, rung: Rung, settings: EncodeSettings) -> None:
        self._frames, self._total_ms = plan.frames, max(1, plan.timing.total_ms)
        self._cap, self._settings, self._rung = _cap(rung, settings), settings, rung

    def __call__(self, size: int, packets: int, end_ms: int) -> None:
        # Of frames and of time, the larger share done: the lower (safer) projection.
        done = max(packets / self._frames, min(end_ms, self._total_ms) / self._total_ms)
        projected = int(size / done) if done > 0 else size
        if size > self._cap:
            raise _Abandoned(projected, "over the cap")
        if done < self._settings.abandon_after:
            return
        if projected > self._cap * self._settings.abandon_margin:
            raise _Abandoned(projected, "projected over the cap")
        if end_ms >= _MIN_RATE_WINDOW_MS:
            rate = size * 8 * 1000 / end_ms
            if rate > _RATE_CEILING_SHARE * self._rung.bitrate:
                raise _Abandoned(projected, "at the rate ceiling")


class _Render:
    def __init__(
        self,
        frames: FrameSource,
        plan: VideoPlan,
        settings: EncodeSettings,
        report: _Reporter,
    ) -> None:
        self.frames, self.plan, self.settings, self.report = frames, plan, settings, report
        self.attempts: list[dict[str, Any]] = []
        self.collectors: Collectors | None = None

    def run(self, mp4: PathLike, extras: Extras) -> EncodeResult:
        pool = ThreadPoolExecutor(WRITERS, thread_name_prefix="tape-extras")
        try:
            return self._run(mp4, extras, pool)
        finally:
            # Whatever happened, no writer is left running once render_tape returns or cleans up
            # (a preview writer whose pass failed waits for frames until discarded).
            if self.collectors is not None:
                self.collectors.discard()
            pool.shutdown(wait=True, cancel_futures=True)

    def _run(self, mp4: PathLike, extras: Extras, pool: ThreadPoolExecutor) -> EncodeResult:
        plan, settings = self.plan, self.settings
        collectors = self.collectors = Collectors(plan, settings, extras, pool)
        ladder = quality_ladder(plan, settings)
        index = 0
        while True:
            rung = ladder[index]
            if not collectors.complete and collectors.seen:
                collectors.discard()
                collectors = self.collectors = Collectors(plan, settings, extras, pool)
            observers = () if collectors.complete else collectors.observers
            if rung.fallback:
                rung, size = self._fallback(mp4, rung, observers)
                break
            try:
                size = self._pass(mp4, rung, observers, _Watch(plan, rung, settings))
            except _Abandoned as abandoned:
                self._attempt(rung, "abandoned", abandoned.projected, abandoned.reason)
                index = self._next(ladder, index, abandoned.projected)
                continue
            # A CAVLC pass that ended past its share but within the budget is kept: redoing
            # it would cost more than the bytes it saves.
            if size <= settings.max_bytes:
                self._attempt(rung, "kept", size)
                break
            self._attempt(rung, "too_large", size)
            index = self._next(ladder, index, size)
        assert collectors.complete  # the kept pass saw every frame, if no earlier one did
        kept = plan.at_factor(rung.factor)
        result = EncodeResult(
            width=kept.width,
            height=kept.height,
            factor=kept.factor,
            frames=plan.frames,
            duration_ms=plan.timing.total_ms,
            mp4_bytes=size,
            passes=len(self.attempts),
            bitrate=rung.bitrate,
            framerate_hint=plan.rate_hint,
            crf=rung.crf,
            cabac=rung.cabac,
            attempts=self.attempts,
            pass_bytes=[a["bytes"] for a in self.attempts],
        )
        collectors.finish(result)
        self.report(1.0)
        return result

    def _pass(
        self, mp4: PathLike, rung: Rung, observers: Sequence[Observer], watch: _Watch | None
    ) -> int:
        low = max(0.0, self.report.last)
        high = 0.85 if low <= 0 else low + (0.9 - low) / 2

        def step(fraction: float) -> None:
            self.report(low + (high - low) * fraction)

        return converted(
            mp4,
            lambda: encode_mp4(
                self.frames(),
                mp4,
                self.plan,
                rung,
                self.settings,
                observers=observers,
                progress=step,
                watch=watch,
            ),
        )

    def _next(self, ladder: list[Rung], index: int, projected: int) -> int:
        """The next rung that could fit, judging by ``projected`` bytes at ``ladder[index]`` and
        by how much this tape's earlier passes shrank from one rung to the next."""
        source = ladder[index]
        crf_ratio, one_x_ratio = self._learned_ratios()
        for candidate in range(index + 1, len(ladder)):
            target = ladder[candidate]
            ratio = predicted_ratio(source, target, self.settings.crf_step, crf_ratio, one_x_ratio)
            if target.fallback or projected * ratio <= _cap(target, self.settings):
                return candidate
        return len(ladder) - 1

    def _learned_ratios(self) -> tuple[float, float]:
        """The optimistic ratios, or this tape's own where two passes measured one (never more
        optimistic than the defaults: noise shrinks far less than drawings do)."""
        crf_ratio, one_x_ratio = CRF_STEP_RATIO, ONE_X_RATIO
        sizes = {(a["factor"], a["crf"]): a["bytes"] for a in self.attempts if a["cabac"]}
        for (factor, crf), size in sizes.items():
            bigger = sizes.get((factor, crf - self.settings.crf_step))
            if bigger:
                crf_ratio = max(crf_ratio, min(1.0, size / bigger))
            full = next((b for (f, c), b in sizes.items() if c == crf and f > factor), None)
            if full:
                one_x_ratio = max(one_x_ratio, min(1.0, size / full))
        return crf_ratio, one_x_ratio

    def _fallback(
        self, mp4: PathLike, rung: Rung, observers: Sequence[Observer]
    ) -> tuple[Rung, int]:
        """The bitrate-capped pass, redone at lower rates until it fits (``max_passes``)."""
        settings = self.settings
        sizes: list[int] = []
        while True:
            size = self._pass(mp4, rung, observers if not sizes else (), None)
            sizes.append(size)
            if size <= settings.max_bytes:
                self._attempt(rung, "kept", size)
                return rung, size
            self._attempt(rung, "too_large", size)
            if len(sizes) >= settings.max_passes:
                raise EncodeError(
                    "encode_too_large",
                    f"The video is {size} bytes after {len(sizes)} passes at the lowest quality "
                    f"allowed; the limit is {settings.max_bytes}.",
                    details={
                        "bytes": sizes,
                        "max_bytes": settings.max_bytes,
                        "bitrate": rung.bitrate,
                    },
                )
            # The overshoot says how loosely the VBV held; aim that much lower, plus a margin.
            wanted = settings.max_bytes * min(1.0, settings.size_safety) * settings.retry_factor
            rung = Rung(rung.factor, rung.crf, max(1000, int(rung.bitrate * wanted / size)), True)

    def _attempt(self, rung: Rung, outcome: str, size: int, reason: str = "") -> None:
        self.attempts.append(
            {
                "factor": rung.factor,
                "crf": rung.crf,
                "cabac": rung.cabac,
                "bitrate": rung.bitrate,
                "outcome": outcome,
                "bytes": size,
                **({"reason": reason} if reason else {}),
            }
        )


class _Reporter:
    """Forwards progress rising by at least 1 % (so ~100 calls per tape), never going back."""

    def __init__(self, progress: Progress | None) -> None:
        self._progress = progress
        self.last = -1.0

    def __call__(self, value: float) -> None:
        value = min(1.0, max(0.0, value))
        if value <= self.last:
            return
        if value < 1.0 and value - self.last < 0.01:
            return
        self.last = value
        if self._progress is not None:
            self._progress(value)
