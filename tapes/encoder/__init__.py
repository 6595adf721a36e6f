"""Render a tape's 1x frames into the published files: an MP4, a thumbnail and an animated preview.

Pure (no Django, nothing from ``tapesite``): the encode job, tests and ``bench/encode.py`` call it.
The video is the 1x drawing upscaled by an even integer factor with nearest neighbour (crisp pixel
art, exact 4:2:0 colours), H.264 yuv420p tagged BT.709, variable frame rate in milliseconds, under
a byte cap; the thumbnail and preview ride on the same pass over the frames.

Quality by budget: the quality comes from the budget the tape has (``max_bytes``). Passes go down a
ladder, best first, keeping the first that fits: the full upscale at CRF ``crf`` (8, near-lossless)
raised by ``crf_step`` up to ``crf_crisp`` (16); then, if the cap still binds, the upscale steps
down to 1x over the same CRFs (the drawing stays crisp: the picture is never starved at full size);
only then, at 1x, is the bitrate capped to the budget (the fallback that always fits, or
``encode_too_large``). A pass that will not fit is abandoned as soon as its projected size says so.
Flat areas (pixels whose 3x3 neighbourhood is one colour) stay within 4 code values at the 99th
percentile on every rung but the fallback. Why each choice, and the measured alternatives:
docs/encoding.md.

Modules: ``geometry`` (sizes), ``planning`` (the video plan, the quality ladder, rate control),
``mp4`` (the MP4 pass), ``images`` (thumbnail and preview), ``gif`` (the animated GIF),
``extras`` (their collectors and writer threads), ``render`` (:func:`render_tape`, the entry
point).
"""

from tapes.encoder.errors import EncodeError
from tapes.encoder.geometry import nearest, output_geometry, pad_to_even, preview_geometry
from tapes.encoder.gif import GifResult, GifSampler, gif_sampler, save_gif
from tapes.encoder.images import FrameSampler, PreviewCollector, ThumbnailPicker, colour_count
from tapes.encoder.mp4 import encode_mp4, to_video_frame
from tapes.encoder.options import DEFAULT_SETTINGS, EncodeResult, EncodeSettings
from tapes.encoder.planning import (
    Rung,
    VideoPlan,
    framerate_hint,
    plan_video,
    quality_ladder,
    target_bitrate,
)
from tapes.encoder.render import FrameSource, render_tape

__all__ = [
    "DEFAULT_SETTINGS",
    "EncodeError",
    "EncodeResult",
    "EncodeSettings",
    "FrameSampler",
    "FrameSource",
    "GifResult",
    "GifSampler",
    "PreviewCollector",
    "Rung",
    "ThumbnailPicker",
    "VideoPlan",
    "colour_count",
    "encode_mp4",
    "framerate_hint",
    "gif_sampler",
    "nearest",
    "output_geometry",
    "pad_to_even",
    "plan_video",
    "preview_geometry",
    "quality_ladder",
    "render_tape",
    "save_gif",
    "target_bitrate",
    "to_video_frame",
]
