"""The files beside the MP4 (thumbnail, preview, GIF): collected during the first pass that sees
every frame and written by two worker threads: the preview frame by frame as the pass keeps its
frames, the GIF and the thumbnail as soon as the pass has seen the last one, so that writing them
overlaps that pass (and any pass after it) instead of following it. libwebp, Pillow's GIF encoder
and NumPy release the GIL, so the two writers and x264 share the cores."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import NamedTuple

import numpy as np

from tapes.encoder.errors import PathLike, converted
from tapes.encoder.gif import GifResult, gif_sampler, save_gif
from tapes.encoder.images import PreviewCollector, PreviewWriter, ThumbnailPicker, save_thumbnail
from tapes.encoder.mp4 import Observer
from tapes.encoder.options import EncodeResult, EncodeSettings
from tapes.encoder.planning import VideoPlan

#: Writers at once: the preview (all through the pass) beside the GIF and the thumbnail.
WRITERS = 2


class Extras(NamedTuple):
    """Where the files beside the MP4 go (None: not wanted)."""

    thumbnail: PathLike | None
    preview: PathLike | None
    gif: PathLike | None


class Collectors:
    """The thumbnail picker, preview and GIF samplers of a pass, whether it saw every frame, and
    the writers it started on ``pool``. One that will not see every frame (its pass stopped)
    must be ``discard``ed, which stops its preview writer."""

    def __init__(
        self, plan: VideoPlan, settings: EncodeSettings, extras: Extras, pool: ThreadPoolExecutor
    ) -> None:
        self.frames = plan.frames
        self.seen = 0
        self._plan, self._settings, self._extras, self._pool = plan, settings, extras, pool
        width, height = plan.source_width, plan.source_height
        self.thumbnail = ThumbnailPicker(plan.frames, settings.thumbnail_candidates)
        self.preview = PreviewCollector(plan.timing, width, height, settings)
        self.gif = gif_sampler(plan.timing, width, height, settings)
        self.observers: list[Observer] = [self._count]
        if extras.thumbnail is not None:
            self.observers.append(self.thumbnail.offer)
        if extras.preview is not None:
            self.observers.append(self.preview.offer)
        if extras.gif is not None:
            self.observers.append(self.gif.offer)
        self.observers.append(self._start_at_last)
        self._preview: Future[int] | None = None
        self._gif: Future[GifResult] | None = None
        self._thumbnail: Future[int] | None = None
        if extras.preview is not None:
            size = (self.preview.width, self.preview.height)
            writer = self.preview.writer = PreviewWriter(extras.preview, size, settings)
            self._preview = pool.submit(converted, extras.preview, writer.run)

    def discard(self) -> None:
        """Stop the preview writer of a pass that did not see every frame (any other: no-op)."""
        if self.preview.writer is not None and not self.complete:
            self.preview.writer.abandon()

    def _count(self, index: int, image: np.ndarray) -> None:
        self.seen = index + 1

    @property
    def complete(self) -> bool:
        return self.seen == self.frames

    def _start_at_last(self, index: int, image: np.ndarray) -> None:
        if index + 1 != self.frames:
            return
        settings, (thumbnail, _, gif) = self._settings, self._extras
        submit = self._pool.submit
        if self.preview.writer is not None:
            self.preview.writer.close(self._plan.timing.total_ms)
        if gif is not None:
            self._gif = submit(converted, gif, lambda: save_gif(self.gif, gif, settings))
        if thumbnail is not None:
            best = self.thumbnail.image
            assert best is not None  # frame 0 is always a candidate, and this is the last frame
            size = self.thumbnail_size
            self._thumbnail = submit(
                converted, thumbnail, lambda: save_thumbnail(best, thumbnail, size, settings)
            )

    @property
    def thumbnail_size(self) -> tuple[int, int]:
        """At the full upscale whatever the video's rung: a still costs little."""
        plan = self._plan
        return plan.source_width * plan.factor, plan.source_height * plan.factor

    def finish(self, result: EncodeResult) -> None:
        """Wait for the writers (raising what they raised) and record what they wrote."""
        if self._thumbnail is not None:
            result.thumbnail_bytes = self._thumbnail.result()
            result.thumbnail_index = self.thumbnail.index
            result.thumbnail_width, result.thumbnail_height = self.thumbnail_size
        if self._preview is not None:
            result.preview_bytes = self._preview.result()
            result.preview_width, result.preview_height = self.preview.width, self.preview.height
            result.preview_frames = len(self.preview.images)
        if self._gif is not None:
            gif = self._gif.result()
            result.gif_width, result.gif_height = gif.width, gif.height
            result.gif_frames, result.gif_colours, result.gif_bytes = (
                gif.frames,
                gif.colours,
                gif.bytes,
            )
