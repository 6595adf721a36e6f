"""The thumbnail and preview: collectors fed during the MP4 pass, and their writers."""

from __future__ import annotations

from pathlib import Path
from queue import SimpleQueue

import numpy as np
from PIL import Image, _webp

from tapes.encoder.errors import PathLike
from tapes.encoder.geometry import nearest, preview_geometry
from tapes.encoder.options import EncodeSettings
from tapes.timing import FrameTiming


def colour_count(image: np.ndarray) -> int:
    """Distinct colours at 5 bits per channel (cheap: one bincount over the 1x frame)."""
    q = (image >> 3).astype(np.uint16)
    packed = (q[:, :, 0] << 10) | (q[:, :, 1] << 5) | q[:, :, 2]
    return int(np.count_nonzero(np.bincount(packed.ravel(), minlength=1 << 15)))


class ThumbnailPicker:
    """Keeps the busiest of up to ``candidates`` evenly spaced frames (ties: nearest the middle)."""

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


class FrameSampler:
    """Keeps frames, resized to ``size`` with nearest neighbour, at most ``fps`` apart and at most
    ``max_frames`` of them; each is shown until the next kept one (pauses included)."""

    def __init__(
        self, timing: FrameTiming, size: tuple[int, int], fps: float, max_frames: int
    ) -> None:
        self.width, self.height = size
        self._timing = timing
        # Kept frames start >= gap - 1 ms apart (see offer), so this gap keeps at most
        # max_frames of them inside the tape.
        spread = timing.total_ms / max(1, max_frames - 1) + 1
        self._gap = max(1000 / fps, spread)
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

    @property
    def total_ms(self) -> int:
        return self._timing.total_ms

    def durations(self) -> list[int]:
        ends = [*self.starts[1:], self._timing.total_ms]
        return [end - start for start, end in zip(self.starts, ends, strict=True)]


class PreviewCollector(FrameSampler):
    """The preview's frames: <= ``preview_size`` px, ``preview_fps``, ``preview_max_frames``;
    each handed to ``writer`` as it is kept, when there is one."""

    def __init__(
        self,
        timing: FrameTiming,
        width: int,
        height: int,
        settings: EncodeSettings,
        writer: PreviewWriter | None = None,
    ):
        size = preview_geometry(width, height, settings.preview_size)
        super().__init__(timing, size, settings.preview_fps, settings.preview_max_frames)
        self.writer = writer

    def offer(self, index: int, image: np.ndarray) -> None:
        kept = len(self.images)
        super().offer(index, image)
        if self.writer is not None and len(self.images) > kept:
            self.writer.add(self.images[-1], self.starts[-1])


def save_thumbnail(
    image: np.ndarray, path: PathLike, size: tuple[int, int], settings: EncodeSettings
) -> int:
    """Lossless WebP (PNG if ``path`` ends in ``.png``) of ``image`` at ``size``; bytes written."""
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


class PreviewWriter:
    """Writes the preview, a looping lossless animated WebP, frame by frame as its collector keeps
    them: libwebp's work on each frame (the longest of the extras) then overlaps the MP4 pass
    instead of following it. ``run`` is one task on a writer thread, encoding what ``add`` gives
    it until ``close`` (the file is written, its size returned) or ``abandon`` (nothing is).

    The file is the one Pillow's ``save(save_all=True, ...)`` writes from the same frames, byte
    for byte (tests/tapes/encoder/test_extras.py holds it to that): Pillow's writer takes every
    frame at once, so this drives the binding it drives, the same way, one frame at a time.
    """

    def __init__(self, path: PathLike, size: tuple[int, int], settings: EncodeSettings) -> None:
        self._path, self._size, self._settings = path, size, settings
        self._queue: SimpleQueue[tuple[np.ndarray | None, int]] = SimpleQueue()

    def add(self, image: np.ndarray, start_ms: int) -> None:
        self._queue.put((image, start_ms))

    def close(self, total_ms: int) -> None:
        self._queue.put((None, total_ms))

    def abandon(self) -> None:
        self._queue.put((None, -1))

    def run(self) -> int:
        """Encode what is added until closed (bytes written) or abandoned (0)."""
        effort, method = self._settings.webp_effort, self._settings.webp_method
        # As Pillow's writer: transparent background, looping, no size minimising, no mixed
        # lossy frames, and kmin = kmax = 0: no key frames, for from the 9th frame after one
        # libwebp would encode each frame twice (as a key frame and as a change) to keep the
        # smaller: ~30 % more time for ~2 % fewer bytes, and a looping preview is never seeked.
        encoder = _webp.WebPAnimEncoder(self._size, 0, 0, False, 0, 0, False, False)
        first: int | None = None
        while True:
            image, at = self._queue.get()
            if image is None:
                break
            first = at if first is None else first
            encoder.add(Image.fromarray(image).getim(), at - first, True, effort, 100, method)
        if at < 0 or first is None:
            return 0
        encoder.add(None, at - first, True, effort, 100, 0)
        data = encoder.assemble("", "", "")
        if data is None:
            raise OSError("libwebp returned no preview")
        Path(self._path).write_bytes(data)
        return len(data)
