"""Render a tape's frames into the published files: an MP4, a thumbnail and an animated preview.

One pass over the frames writes all three (a retry pass re-reads the frames for the MP4 only).
Memory stays at a few frames whatever the tape's length: frames stream through the encoder, the
thumbnail keeps one 1x candidate and the preview keeps at most ``preview_max_frames`` small frames.

**Output size.** Pixel art must stay crisp, so the video is the 1x drawing scaled by an integer
factor with nearest neighbour: the largest *even* factor whose long side fits ``max_long_side``
(1080). Even factors keep every 1x pixel a whole 2x2-aligned block, so 4:2:0 chroma never mixes two
source pixels and colours stay exact. 256x256 -> 4x = 1024x1024; 255x133 -> 4x = 1020x532;
500x300 -> 2x = 1000x600. If even 2x does not fit (long side > 540), the video is the 1x size -
never resampled down, the archive limits cap the 1x size - and an odd width or height gets one
extra column or row repeating the edge pixels (H.264 4:2:0 needs even dimensions; repeating the edge
avoids a dark seam). Only there can chroma mix neighbouring pixels, which no 4:2:0 1x video avoids.

**MP4.** H.264 (libx264) yuv420p, ``+faststart``, tagged BT.709 primaries/transfer/matrix and TV
range (untagged video renders darker in Chromium). swscale's RGB -> BT.709 conversion rounds
exactly, so with a lossless encode the planes equal the exact BT.709 values of the source; at CRF 23
x264 moves flat areas by at most ~3 code values (exact needs CRF ~12). Variable frame rate: time
base 1/1000, each frame's ``pts`` from :mod:`tapes.timing`, and each packet its frame's duration
(see :class:`_Muxer`), so the MP4 lasts exactly the rounded sum of the durations. The frame rate is
only a hint (median rate, <= 120) that lets x264 declare the right H.264 level.

**Size cap.** CRF plus ``maxrate`` = ``size_safety * max_bytes * 8 / (duration + 0.9 s)`` with a
1 s ``bufsize``: even a pass that fills the VBV stays under the cap (``/ duration`` alone lets a
1 s tape spend 1.9x its budget). At most ``max_bitrate``: x264 raises the declared level to fit
the VBV (1 Gbit/s declares level 6.2, which phone decoders refuse; 20 Mbit/s stays within level
4.0). If the file still exceeds ``max_bytes`` the MP4 is encoded again at a rate lowered by the
overshoot, up to ``max_passes`` in all, then :class:`EncodeError` ``encode_too_large``.

x264 settings, measured on 2 cores (docs/benchmarks.md): preset ``superfast`` plus
``mbtree=1:rc-lookahead=10`` (veryfast's rate control: ~20 % fewer bytes at equal PSNR),
``aq-mode=0`` (adaptive quantisation spends bits on psycho-visual texture that pixel art does not
have: smaller *and* higher PSNR), ``subme=0`` (nearest-neighbour art moves in whole source pixels,
so sub-pixel motion search finds nothing) and ``no-deblock`` (the loop filter smears the hard edges
pixel art is made of: smaller and higher PSNR). About 2.2x faster than ``veryfast`` for a slightly
smaller file with +1 dB PSNR on the synthetic tapes.

**Thumbnail.** The 1x frame with the most distinct colours (quantised to 5 bits per channel) among
up to ``thumbnail_candidates`` evenly spaced frames, ties going to the frame nearest the middle:
a blank or fading first frame is never chosen. Written at the video's size (without padding) with
nearest neighbour, lossless WebP, or PNG if ``thumbnail_path`` ends in ``.png``.

**Preview.** Animated lossless WebP, looping, nearest neighbour to at most ``preview_size`` (256) px
on the long side (integer upscale of small drawings, nearest-neighbour downscale of big ones). At
most ``preview_fps`` (15) frames per second: a frame is kept once at least 1/15 s has passed since
the previous kept one and is shown until the next kept frame, so timing (pauses included) matches
the tape; identical consecutive kept frames merge. Long tapes lower the rate so that no more than
``preview_max_frames`` (120) frames are kept, which bounds the preview's memory and size.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import partial
from pathlib import Path
from typing import Any, Final, NamedTuple

import av
import numpy as np
from av.video.reformatter import ColorRange, Colorspace, Interpolation
from PIL import Image

from tapes.timing import FrameTiming, frame_timing
from tapesite.errors import TapesiteError

MS: Final = Fraction(1, 1000)
_BT709: Final = 1  # AVCOL_PRI_BT709 == AVCOL_TRC_BT709 == AVCOL_SPC_BT709
_TV_RANGE: Final = 1  # AVCOL_RANGE_MPEG
_MAX_RATE_HINT: Final = 120

PathLike = str | os.PathLike[str]
FrameSource = Callable[[], Iterable[np.ndarray]]
Progress = Callable[[float], None]


class EncodeError(TapesiteError):
    """Rendering failed. ``encode_too_large`` and bad input never succeed on retry; an I/O error
    (disk full) might, and says so with ``retryable=True``."""

    status = 422
    retryable = False


@dataclass(frozen=True)
class EncodeSettings:
    max_long_side: int = 1080
    max_bytes: int = 10_485_760
    crf: int = 23
    preset: str = "superfast"
    x264_params: str = "mbtree=1:rc-lookahead=10:aq-mode=0:subme=0:no-deblock=1"
    #: x264 frame threads; 2 is fastest on the 2-core workers (3 = "auto" loses ~10 % to
    #: contention with the PNG decoder threads). 0 lets x264 decide.
    threads: int = 2
    size_safety: float = 0.9
    max_bitrate: int = 20_000_000
    #: Extra margin on top of the measured overshoot when a pass comes out too large.
    retry_factor: float = 0.85
    max_passes: int = 3
    thumbnail_candidates: int = 24
    preview_size: int = 256
    preview_fps: float = 15.0
    preview_max_frames: int = 120
    #: libwebp method (0..6) and lossless effort (0..100) for the preview and thumbnail: method 1
    #: at effort 25 halves a noisy preview against 0/0 for ~50 ms more; higher buys little.
    webp_method: int = 1
    webp_effort: int = 25

    def __post_init__(self) -> None:
        if self.max_long_side < 2 or self.max_bytes < 1 or self.max_passes < 1:
            raise ValueError("max_long_side >= 2, max_bytes >= 1 and max_passes >= 1 required")
        if not (self.size_safety > 0 and 0 < self.retry_factor <= 1):
            raise ValueError("size_safety must be > 0 and retry_factor in (0, 1]")
        if self.preview_size < 1 or self.preview_fps <= 0 or self.preview_max_frames < 1:
            raise ValueError("preview_size, preview_fps and preview_max_frames must be positive")


DEFAULT_SETTINGS: Final = EncodeSettings()


@dataclass
class EncodeResult:
    width: int
    height: int
    factor: int
    frames: int
    duration_ms: int
    mp4_bytes: int
    passes: int
    bitrate: int
    framerate_hint: int
    thumbnail_index: int
    thumbnail_width: int
    thumbnail_height: int
    thumbnail_bytes: int
    preview_width: int
    preview_height: int
    preview_frames: int
    preview_bytes: int
    seconds: float
    pass_bytes: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


# --------------------------------------------------------------------------------------------
# Geometry


def output_geometry(width: int, height: int, max_long_side: int = 1080) -> tuple[int, int, int]:
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


# --------------------------------------------------------------------------------------------
# Rate control


def framerate_hint(durations_ms: Sequence[float]) -> int:
    """Typical frames per second (from the median input duration, not the rounded integer ones,
    which turn 60 fps into 62), for the H.264 level only."""
    positive = [d for d in durations_ms if d > 0]
    if not positive:
        return 1
    return max(1, min(_MAX_RATE_HINT, round(1000 / statistics.median(positive))))


#: x264's default ``vbv-init``: the decoder buffer starts this full, so a pass may spend this
#: fraction of ``bufsize`` on top of ``maxrate * duration``.
_VBV_INIT: Final = 0.9


def target_bitrate(total_ms: int, settings: EncodeSettings) -> int:
    """``maxrate`` in bit/s (and ``bufsize`` in bits: one second's worth) that keeps ``total_ms``
    of video under ``size_safety * max_bytes`` even if every frame hits the VBV limit.

    The bound is ``maxrate * duration + vbv_init * bufsize``; ignoring the buffer term (``maxrate
    = budget / duration``) lets a 1 s tape spend nearly twice its budget.
    """
    seconds = max(total_ms, 1) / 1000
    rate = settings.size_safety * settings.max_bytes * 8 / (seconds + _VBV_INIT)
    return max(1000, min(settings.max_bitrate, int(rate)))


# --------------------------------------------------------------------------------------------
# Thumbnail and preview collectors (fed during the MP4 pass)


def colour_count(image: np.ndarray) -> int:
    """Distinct colours at 5 bits per channel (cheap: one bincount over the 1x frame)."""
    q = (image >> 3).astype(np.uint16)
    packed = (q[:, :, 0] << 10) | (q[:, :, 1] << 5) | q[:, :, 2]
    return int(np.count_nonzero(np.bincount(packed.ravel(), minlength=1 << 15)))


class ThumbnailPicker:
    def __init__(self, frames: int, candidates: int) -> None:
        count = max(1, min(frames, candidates))
        self._candidates = {round(i * (frames - 1) / max(1, count - 1)) for i in range(count)}
        self._middle = (frames - 1) / 2
        self._best: tuple[int, float] | None = None
        self.index = 0
        self.image: np.ndarray | None = None

    def offer(self, index: int, image: np.ndarray) -> None:
        if index not in self._candidates:
            return
        key = (colour_count(image), -abs(index - self._middle))
        if self._best is None or key > self._best:
            self._best, self.index, self.image = key, index, image.copy()


class PreviewCollector:
    def __init__(self, timing: FrameTiming, width: int, height: int, settings: EncodeSettings):
        self.width, self.height = preview_geometry(width, height, settings.preview_size)
        self._timing = timing
        # Kept frames start >= gap - 1 ms apart (see offer), so this gap keeps at most
        # preview_max_frames of them inside the tape.
        spread = timing.total_ms / max(1, settings.preview_max_frames - 1) + 1
        self._gap = max(1000 / settings.preview_fps, spread)
        self._due = 0.0
        self.images: list[np.ndarray] = []
        self.starts: list[int] = []

    def offer(self, index: int, image: np.ndarray) -> None:
        start = self._timing.pts[index]
        # 1 ms slack: 4 frames of a 60 fps tape span 66 or 67 integer ms, not 66.67.
        if start + 1 < self._due:
            return
        self._due = start + self._gap
        small = nearest(image, self.width, self.height)
        if self.images and np.array_equal(self.images[-1], small):
            return
        self.images.append(np.ascontiguousarray(small))
        self.starts.append(start)

    def durations(self) -> list[int]:
        ends = [*self.starts[1:], self._timing.total_ms]
        return [end - start for start, end in zip(self.starts, ends, strict=True)]


# --------------------------------------------------------------------------------------------
# MP4


@dataclass(frozen=True)
class _VideoPlan:
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


def _plan(
    durations_ms: Sequence[float], width: int, height: int, settings: EncodeSettings
) -> _VideoPlan:
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
    return _VideoPlan(width, height, out_w, out_h, factor, timing, framerate_hint(durations_ms))


def _open_mp4(path: PathLike, plan: _VideoPlan, bitrate: int, settings: EncodeSettings) -> Any:
    container = av.open(os.fspath(path), "w", format="mp4", options={"movflags": "+faststart"})
    stream = container.add_stream("libx264")
    codec = stream.codec_context
    codec.width, codec.height, codec.pix_fmt = plan.width, plan.height, "yuv420p"
    codec.time_base = MS
    stream.time_base = MS
    codec.framerate = Fraction(plan.rate_hint)
    codec.color_primaries = codec.color_trc = codec.colorspace = _BT709
    codec.color_range = _TV_RANGE
    codec.thread_count = settings.threads
    options = {
        "preset": settings.preset,
        "crf": str(settings.crf),
        "maxrate": str(bitrate),
        "bufsize": str(bitrate),
    }
    if settings.x264_params:
        options["x264-params"] = settings.x264_params
    codec.options = options
    return container


def _to_video_frame(image: np.ndarray, plan: _VideoPlan) -> av.VideoFrame:
    if plan.factor == 1:
        image = pad_to_even(image)
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
    # One swscale call: POINT upscale by an even factor straight to BT.709 TV-range 4:2:0. Each
    # chroma sample then covers pixels of a single source colour, so nothing bleeds.
    return frame.reformat(
        width=plan.width,
        height=plan.height,
        format="yuv420p",
        interpolation=Interpolation.POINT,
        dst_colorspace=Colorspace.ITU709,
        dst_color_range=ColorRange.MPEG,
    )


def _checked(images: Iterable[np.ndarray], plan: _VideoPlan) -> Iterator[np.ndarray]:
    shape = (plan.source_height, plan.source_width, 3)
    count = -1
    for count, image in enumerate(images):
        if count >= plan.frames:
            raise EncodeError(
                "encode_frame_count",
                f"More frames than the {plan.frames} durations.",
                details={"durations": plan.frames},
            )
        if image.shape != shape or image.dtype != np.uint8:
            raise EncodeError(
                "encode_bad_frame",
                f"Frame {count} is {image.dtype} {image.shape}, expected uint8 {shape}.",
                details={"index": count},
            )
        yield image
    if count + 1 != plan.frames:
        raise EncodeError(
            "encode_frame_count",
            f"{count + 1} frames for {plan.frames} durations.",
            details={"frames": count + 1, "durations": plan.frames},
        )


class _Muxer:
    """Gives every packet its frame's duration and makes the track end where the last frame does.

    libx264 leaves packet durations at 0, so the MP4 muxer would guess the last frame's duration.
    With B-frames the last packet in decode order is not the last frame, and the media duration
    (``mdhd``, what FFmpeg-based players report) is the last *dts* plus that packet's duration. So
    every packet gets its own frame's duration (the edit list ends at max(pts + duration), exact),
    and the final packet, held back until the stream ends, gets whatever makes ``mdhd`` end at the
    tape's total too.
    """

    def __init__(self, container: Any, timing: FrameTiming) -> None:
        self._container = container
        self._durations = dict(zip(timing.pts, timing.durations, strict=True))
        self._total = timing.total_ms
        self._first_dts: int | None = None
        self._held: av.Packet | None = None

    def mux(self, packets: Iterable[av.Packet]) -> None:
        for packet in packets:
            if packet.pts is None or packet.dts is None:
                raise EncodeError("encode_failed", "The encoder returned a packet without time.")
            packet.duration = self._durations[packet.pts]
            if self._first_dts is None:
                self._first_dts = packet.dts
            if self._held is not None:
                self._container.mux(self._held)
            self._held = packet

    def finish(self) -> None:
        packet, first = self._held, self._first_dts
        if packet is None or first is None or packet.dts is None:
            return
        packet.duration = max(1, self._total - (packet.dts - first))
        self._container.mux(packet)
        self._held = None


def _encode_mp4(
    images: Iterable[np.ndarray],
    path: PathLike,
    plan: _VideoPlan,
    bitrate: int,
    settings: EncodeSettings,
    observers: Sequence[Callable[[int, np.ndarray], None]] = (),
    progress: Progress | None = None,
) -> int:
    """Write the MP4; return its size in bytes."""
    timing = plan.timing
    container = _open_mp4(path, plan, bitrate, settings)
    try:
        stream = container.streams.video[0]
        muxer = _Muxer(container, timing)
        for index, image in enumerate(_checked(images, plan)):
            for observe in observers:
                observe(index, image)
            frame = _to_video_frame(image, plan)
            frame.pts = timing.pts[index]
            frame.time_base = MS
            muxer.mux(stream.encode(frame))
            if progress is not None:
                progress((index + 1) / plan.frames)
        muxer.mux(stream.encode(None))
        muxer.finish()
    finally:
        container.close()
    return Path(path).stat().st_size


def _fit(
    frames: FrameSource,
    path: PathLike,
    plan: _VideoPlan,
    first: tuple[int, int],
    settings: EncodeSettings,
    report: Callable[[float], None],
) -> tuple[int, list[int]]:
    """Re-encode at lower rates until the MP4 fits; return the last bitrate and all pass sizes."""
    bitrate, size = first
    sizes = [size]
    retries = max(1, settings.max_passes - 1)
    while sizes[-1] > settings.max_bytes:
        if len(sizes) >= settings.max_passes:
            raise EncodeError(
                "encode_too_large",
                f"The video is {sizes[-1]} bytes after {len(sizes)} passes; the limit is "
                f"{settings.max_bytes}.",
                details={"bytes": sizes, "max_bytes": settings.max_bytes, "bitrate": bitrate},
            )
        # The overshoot says how loosely the VBV held; aim that much lower, plus a margin.
        wanted = settings.max_bytes * min(1.0, settings.size_safety) * settings.retry_factor
        bitrate = max(1000, int(bitrate * wanted / sizes[-1]))
        base = 0.9 + 0.1 * (len(sizes) - 1) / retries

        def step(fraction: float, base: float = base) -> None:
            report(base + 0.1 * fraction / retries)

        encode = partial(_encode_mp4, frames(), path, plan, bitrate, settings, progress=step)
        sizes.append(_converted(path, encode))
    return bitrate, sizes


# --------------------------------------------------------------------------------------------
# Images


def _save_thumbnail(
    image: np.ndarray, path: PathLike, size: tuple[int, int], settings: EncodeSettings
) -> int:
    picture = Image.fromarray(np.ascontiguousarray(nearest(image, *size)))
    if Path(path).suffix.lower() == ".png":
        picture.save(path, format="PNG", compress_level=6)
    else:
        picture.save(
            path,
            format="WEBP",
            lossless=True,
            quality=settings.webp_effort,
            method=settings.webp_method,
        )
    return Path(path).stat().st_size


def _save_preview(preview: PreviewCollector, path: PathLike, settings: EncodeSettings) -> int:
    pictures = [Image.fromarray(image) for image in preview.images]
    pictures[0].save(
        path,
        format="WEBP",
        save_all=True,
        append_images=pictures[1:],
        duration=preview.durations(),
        loop=0,
        lossless=True,
        quality=settings.webp_effort,
        method=settings.webp_method,
    )
    return Path(path).stat().st_size


# --------------------------------------------------------------------------------------------
# Entry point


def render_tape(
    frames: FrameSource,
    durations_ms: Sequence[float],
    width: int,
    height: int,
    *,
    mp4_path: PathLike,
    thumbnail_path: PathLike,
    preview_path: PathLike,
    settings: EncodeSettings = DEFAULT_SETTINGS,
    progress: Progress | None = None,
) -> EncodeResult:
    """Encode the tape whose 1x RGB uint8 frames ``frames()`` yields, ``durations_ms`` per frame,
    into ``mp4_path``, ``thumbnail_path`` and ``preview_path`` (see the module docstring).

    ``frames`` is called once per pass and must return a fresh iterator each time. ``progress``
    receives non-decreasing values from 0 to 1. Raises :class:`EncodeError` (or whatever the
    frames raise, e.g. an ArchiveError) and then leaves none of the three files behind.
    """
    started = time.perf_counter()
    plan = _plan(durations_ms, width, height, settings)
    outputs = _Outputs(mp4_path, thumbnail_path, preview_path)
    try:
        result = _render(frames, plan, outputs, settings, _Reporter(progress))
    except BaseException:
        for path in outputs:
            _remove(path)
        raise
    result.seconds = time.perf_counter() - started
    return result


class _Outputs(NamedTuple):
    mp4: PathLike
    thumbnail: PathLike
    preview: PathLike


def _render(
    frames: FrameSource,
    plan: _VideoPlan,
    outputs: _Outputs,
    settings: EncodeSettings,
    report: Callable[[float], None],
) -> EncodeResult:
    thumbnail = ThumbnailPicker(plan.frames, settings.thumbnail_candidates)
    preview = PreviewCollector(plan.timing, plan.source_width, plan.source_height, settings)
    bitrate = target_bitrate(plan.timing.total_ms, settings)
    first = _converted(
        outputs.mp4,
        lambda: _encode_mp4(
            frames(),
            outputs.mp4,
            plan,
            bitrate,
            settings,
            observers=(thumbnail.offer, preview.offer),
            progress=lambda fraction: report(0.85 * fraction),
        ),
    )
    thumb_size = (plan.source_width * plan.factor, plan.source_height * plan.factor)
    best = thumbnail.image
    assert best is not None  # frame 0 is always a candidate and the pass saw every frame
    thumbnail_bytes = _converted(
        outputs.thumbnail,
        lambda: _save_thumbnail(best, outputs.thumbnail, thumb_size, settings),
    )
    preview_bytes = _converted(
        outputs.preview, lambda: _save_preview(preview, outputs.preview, settings)
    )
    report(0.9)
    bitrate, sizes = _fit(frames, outputs.mp4, plan, (bitrate, first), settings, report)
    report(1.0)
    return EncodeResult(
        width=plan.width,
        height=plan.height,
        factor=plan.factor,
        frames=plan.frames,
        duration_ms=plan.timing.total_ms,
        mp4_bytes=sizes[-1],
        passes=len(sizes),
        bitrate=bitrate,
        framerate_hint=plan.rate_hint,
        thumbnail_index=thumbnail.index,
        thumbnail_width=thumb_size[0],
        thumbnail_height=thumb_size[1],
        thumbnail_bytes=thumbnail_bytes,
        preview_width=preview.width,
        preview_height=preview.height,
        preview_frames=len(preview.images),
        preview_bytes=preview_bytes,
        seconds=0.0,
        pass_bytes=sizes,
    )


class _Reporter:
    """Forwards progress rising by at least 1 % (so ~100 calls per tape), never going back."""

    def __init__(self, progress: Progress | None) -> None:
        self._progress = progress
        self._last = -1.0

    def __call__(self, value: float) -> None:
        value = min(1.0, max(0.0, value))
        if self._progress is None or value <= self._last:
            return
        if value < 1.0 and value - self._last < 0.01:
            return
        self._last = value
        self._progress(value)


def _converted[T](path: PathLike, work: Callable[[], T]) -> T:
    """Run ``work``, which writes ``path``, turning FFmpeg and I/O errors into EncodeError.
    Anything else (EncodeError, an ArchiveError from the frames) passes through."""
    try:
        return work()
    except av.FFmpegError as exc:
        raise EncodeError(
            "encode_failed", f"Encoding failed: {exc}", details={"path": os.fspath(path)}
        ) from exc
    except OSError as exc:
        raise EncodeError(
            "encode_failed",
            f"Writing {os.fspath(path)} failed: {exc}",
            details={"path": os.fspath(path)},
            retryable=True,
        ) from exc


def _remove(path: PathLike) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
