"""The animated GIF: the tape at 1x, for places that take no video (chat apps, forums, READMEs).

Fed during the MP4 pass like the preview (a :class:`GifSampler` at the 1x size, at most
``gif_fps`` frames per second and ``gif_max_frames`` frames, fewer for big drawings so the kept
frames stay within ``gif_memory_bytes``), written after it. Colours are exact when a frame has at
most 256 of them (pixel art usually does); busier frames are quantised (Pillow's fast octree, no
dithering). Frame delays are whole centiseconds, rounded cumulatively so the loop lasts the tape's
duration. Over ``gif_max_bytes`` the GIF is written again with fewer frames (every other kept
frame, durations merged) and then fewer colours, until it fits.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from tapes.encoder.errors import EncodeError, PathLike
from tapes.encoder.images import FrameSampler
from tapes.encoder.options import EncodeSettings
from tapes.timing import FrameTiming

#: Browsers show a GIF delay under 2 cs as 10 cs; kept frames are at least 1/gif_fps apart anyway.
_MIN_DELAY_CS = 2
#: Colour counts tried once halving the frames no longer helps (or has left too few).
_MIN_ANIMATION_FRAMES = 8
#: A GIF frame's palette holds at most this many colours.
_MAX_COLOURS = 256


@dataclass(frozen=True)
class GifResult:
    bytes: int
    frames: int
    colours: int
    width: int
    height: int


class GifSampler(FrameSampler):
    """The GIF's kept 1x frames, each also turned into its 256-colour picture as it is kept: during
    the MP4 pass (in its conversion thread, which has time to spare beside x264) rather than after
    it, where the picture would hold up the file."""

    def __init__(
        self, timing: FrameTiming, size: tuple[int, int], fps: float, max_frames: int
    ) -> None:
        super().__init__(timing, size, fps, max_frames)
        self.pictures: list[Image.Image] = []

    def offer(self, index: int, image: np.ndarray) -> None:
        kept = len(self.images)
        super().offer(index, image)
        if len(self.images) > kept:
            self.pictures.append(_paletted(self.images[-1], _MAX_COLOURS))


def gif_sampler(
    timing: FrameTiming, width: int, height: int, settings: EncodeSettings
) -> GifSampler:
    """The sampler whose kept 1x frames :func:`save_gif` writes."""
    budget = settings.gif_memory_bytes // max(1, width * height * 3)
    frames = max(1, min(settings.gif_max_frames, budget))
    return GifSampler(timing, (width, height), settings.gif_fps, frames)


def save_gif(sampler: FrameSampler, path: PathLike, settings: EncodeSettings) -> GifResult:
    """Write the sampled frames as a looping GIF of at most ``gif_max_bytes``."""
    images, starts, total = sampler.images, sampler.starts, sampler.total_ms
    full = sampler.pictures if isinstance(sampler, GifSampler) else None
    step, colours = 1, _MAX_COLOURS
    while True:
        picked = list(range(0, len(images), step))
        if full is None or colours != _MAX_COLOURS:
            pictures = [_paletted(images[i], colours) for i in picked]
        else:
            pictures = [full[i] for i in picked]
        size = _write(pictures, [starts[i] for i in picked], total, path)
        if size <= settings.gif_max_bytes:
            return GifResult(size, len(picked), colours, sampler.width, sampler.height)
        if len(picked) > _MIN_ANIMATION_FRAMES or (colours <= 16 and len(picked) > 1):
            step *= 2
        elif colours > 2:
            colours //= 2
        else:
            raise EncodeError(
                "encode_gif_too_large",
                f"The GIF is {size} bytes with one frame of 2 colours; the limit is "
                f"{settings.gif_max_bytes}.",
                details={"bytes": size, "max_bytes": settings.gif_max_bytes},
            )


def _write(pictures: list[Image.Image], starts: list[int], total_ms: int, path: PathLike) -> int:
    ends = [*starts[1:], total_ms]
    # Cumulative rounding to centiseconds: the loop keeps the tape's length.
    marks = [round(ms / 10) for ms in (*starts, ends[-1])]
    delays = [max(_MIN_DELAY_CS, b - a) for a, b in itertools.pairwise(marks)]
    pictures[0].save(
        path,
        format="GIF",
        save_all=True,
        append_images=pictures[1:],
        duration=[cs * 10 for cs in delays],
        loop=0,
        disposal=1,
        optimize=False,
    )
    return Path(path).stat().st_size


def _paletted(image: np.ndarray, colours: int) -> Image.Image:
    """A P-mode picture: exact when the frame has at most ``colours`` colours.

    Pillow's ``getcolors`` counts them in C and gives up past ``colours``, so a busy frame costs
    no more than the count before it is quantised; a few-colour one is mapped by a binary search
    in its sorted palette (np.unique's full sort of the pixels took 15x longer).
    """
    picture = Image.fromarray(image)
    found = picture.getcolors(colours)
    if found is None:
        return picture.quantize(
            colors=colours, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE
        )
    palette = Image.fromarray(np.array([[rgb for _, rgb in found]], np.uint8))
    keys = np.sort(_packed(palette).ravel())
    indices = np.searchsorted(keys, _packed(picture)).astype(np.uint8)
    height, width = indices.shape
    paletted = Image.frombuffer("P", (width, height), indices.tobytes(), "raw", "P", 0, 1)
    paletted.putpalette(keys.view(np.uint8).reshape(-1, 4)[:, :3].tobytes())
    return paletted


def _packed(picture: Image.Image) -> np.ndarray:
    """Each pixel of an RGB ``picture`` as one 32-bit integer: its bytes R, G, B and 255 read as
    one (Pillow's RGBX conversion, in C: five times faster than shifting NumPy channels
    together). Only equality and a consistent order matter to the search above."""
    packed = np.frombuffer(picture.convert("RGBX").tobytes(), np.uint32)
    return packed.reshape(picture.height, picture.width)
