"""The MP4 pass: frames through swscale and libx264 into a frame-exact VFR MP4."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path
from typing import Any, Final

import av
import numpy as np
from av.video.reformatter import ColorRange, Colorspace, Interpolation

from tapes.encoder.errors import EncodeError, PathLike
from tapes.encoder.geometry import pad_to_even
from tapes.encoder.options import EncodeSettings
from tapes.encoder.planning import Rung, VideoPlan
from tapes.timing import FrameTiming

MS: Final = Fraction(1, 1000)
_BT709: Final = 1  # AVCOL_PRI_BT709 == AVCOL_TRC_BT709 == AVCOL_SPC_BT709
_TV_RANGE: Final = 1  # AVCOL_RANGE_MPEG

Progress = Callable[[float], None]
Observer = Callable[[int, np.ndarray], None]
#: Called as packets come out with (bytes so far, packets so far, ms of video covered); it may
#: raise to abandon the pass (see render.py).
Watch = Callable[[int, int, int], None]


def _open_mp4(path: PathLike, plan: VideoPlan, rung: Rung, settings: EncodeSettings) -> Any:
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
        "crf": str(rung.crf),
        "maxrate": str(rung.bitrate),
        "bufsize": str(rung.bitrate),
    }
    options["x264-params"] = ":".join(
        part for part in (f"cabac={int(rung.cabac)}", settings.x264_params) if part
    )
    codec.options = options
    return container


def to_video_frame(image: np.ndarray, plan: VideoPlan) -> av.VideoFrame:
    """The 1x RGB ``image`` as the planned yuv420p frame."""
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


def checked_frames(images: Iterable[np.ndarray], plan: VideoPlan) -> Iterator[np.ndarray]:
    """``images``, each checked against the plan's size, and their count against its timing."""
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


def _video_frames(
    images: Iterable[np.ndarray], plan: VideoPlan, observers: Sequence[Observer], ahead: int
) -> Iterator[av.VideoFrame]:
    """The checked, observed and converted frames, in order. Conversion (swscale, which releases
    the GIL) and the observers run in a worker thread ``ahead`` frames ahead, so they overlap
    x264 (whose calls release the GIL too) instead of taking turns with it. A 1024x1024 yuv420p
    frame is 1.5 MB, so a few frames ahead bound the memory."""
    timing = plan.timing

    def convert(index: int, image: np.ndarray) -> av.VideoFrame:
        for observe in observers:
            observe(index, image)
        frame = to_video_frame(image, plan)
        frame.pts = timing.pts[index]
        frame.time_base = MS
        return frame

    if ahead <= 0:
        for index, image in enumerate(checked_frames(images, plan)):
            yield convert(index, image)
        return
    with ThreadPoolExecutor(1, thread_name_prefix="tape-convert") as pool:
        pending: deque[Future[av.VideoFrame]] = deque()
        try:
            for index, image in enumerate(checked_frames(images, plan)):
                pending.append(pool.submit(convert, index, image))
                if len(pending) > ahead:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


class _Muxer:
    """Gives every packet its frame's duration and makes the track end where the last frame does.

    libx264 leaves packet durations at 0, so the MP4 muxer would guess the last frame's duration.
    With B-frames the last packet in decode order is not the last frame, and the media duration
    (``mdhd``, what FFmpeg-based players report) is the last *dts* plus that packet's duration. So
    every packet gets its own frame's duration (the edit list ends at max(pts + duration), exact),
    and the final packet, held back until the stream ends, gets whatever makes ``mdhd`` end at the
    tape's total too.
    """

    def __init__(self, container: Any, timing: FrameTiming, watch: Watch | None = None) -> None:
        self._container = container
        self._watch = watch
        self.bytes = self.packets = self.end_ms = 0
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
            self.bytes += packet.size
            self.packets += 1
            self.end_ms = max(self.end_ms, packet.pts + packet.duration)
            if self._watch is not None:
                self._watch(self.bytes, self.packets, self.end_ms)

    def finish(self) -> None:
        packet, first = self._held, self._first_dts
        if packet is None or first is None or packet.dts is None:
            return
        packet.duration = max(1, self._total - (packet.dts - first))
        self._container.mux(packet)
        self._held = None


def encode_mp4(
    images: Iterable[np.ndarray],
    path: PathLike,
    plan: VideoPlan,
    rung: Rung,
    settings: EncodeSettings,
    observers: Sequence[Observer] = (),
    progress: Progress | None = None,
    watch: Watch | None = None,
) -> int:
    """Write the MP4 of ``plan`` from its 1x frames, encoded as ``rung`` says; return its size in
    bytes. ``observers`` see every checked frame (the thumbnail and preview collectors ride on
    this pass); ``watch`` sees the output grow."""
    plan = plan.at_factor(rung.factor)
    timing = plan.timing
    container = _open_mp4(path, plan, rung, settings)
    try:
        stream = container.streams.video[0]
        muxer = _Muxer(container, timing, watch)
        frames = _video_frames(images, plan, observers, settings.convert_ahead)
        for index, frame in enumerate(frames):
            muxer.mux(stream.encode(frame))
            if progress is not None:
                progress((index + 1) / plan.frames)
        muxer.mux(stream.encode(None))
        muxer.finish()
    finally:
        container.close()
    return Path(path).stat().st_size
