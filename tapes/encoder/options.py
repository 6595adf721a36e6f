"""What the encoder is told (EncodeSettings) and what it reports (EncodeResult)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final


@dataclass(frozen=True)
class EncodeSettings:
    #: The video's long side at most (an even upscale of the 1x drawing; docs/encoding.md).
    max_long_side: int = 540
    max_bytes: int = 10_485_760
    #: Quality by budget (docs/encoding.md): the first CRF tried, near-lossless ...
    crf: int = 8
    #: ... raised by this step while the video does not fit ...
    crf_step: int = 4
    #: ... up to this one (flat areas still within ~4 code values), first at the full upscale,
    #: then at 1x; past it at 1x, the bitrate is capped (the fallback that always fits).
    crf_crisp: int = 16
    preset: str = "ultrafast"
    #: Added to every pass's x264 options (a ``cabac`` here overrides the rung's choice).
    x264_params: str = "chroma-qp-offset=-3"
    #: The first rung is encoded with CAVLC, x264's plain entropy coder (~40 % less x264 CPU,
    #: ~25 % more bytes, the same picture), while its video stays within this share of
    #: ``max_bytes``; a tape that needs more gets CABAC from that rung on. 0: CABAC always.
    cavlc_share: float = 0.9
    #: x264 frame threads. One: the pass keeps two cores busy without them (PNG decoding in two
    #: threads, swscale and the collectors in another, the preview's writer in a fourth), and
    #: x264's own threads cost ~10 % more CPU for a slower whole job (240-frame 1x bench tape:
    #: 1.14 s of CPU and 0.72 s against 1.01 s and 0.62 s). 0 lets x264 decide.
    threads: int = 1
    #: Frames converted (swscale) in a worker thread ahead of x264; 0 converts inline.
    convert_ahead: int = 3
    size_safety: float = 0.9
    #: The VBV ceiling of every pass, for the H.264 level (24 Mbit/s keeps Main profile within
    #: 4.1; x264 would otherwise declare whatever level the peak rate needs, up to 6.2). A
    #: pass whose average rate comes near it counts as not fitting, so it never quietly starves.
    max_bitrate: int = 24_000_000
    #: Extra margin on top of the measured overshoot when a fallback pass comes out too large.
    retry_factor: float = 0.85
    #: Passes of the capped-bitrate fallback (the ladder's abandoned passes are not counted).
    max_passes: int = 3
    #: A pass is abandoned once the bytes so far, projected over the whole tape, exceed
    #: ``max_bytes`` by this factor (checked after ``abandon_after`` of the frames and time).
    abandon_margin: float = 1.05
    abandon_after: float = 0.2
    thumbnail_candidates: int = 24
    preview_size: int = 256
    preview_fps: float = 15.0
    preview_max_frames: int = 120
    #: libwebp method (0..6) and lossless effort (0..100) for the preview and thumbnail: method 1
    #: halves a noisy preview against method 0; effort 25 (libwebp's next step up) saves 4-6 %
    #: of the bytes for ~50 % more time, and higher buys little.
    webp_method: int = 1
    webp_effort: int = 20
    #: The animated GIF at 1x (gif.py): at most this many bytes (fewer frames, then fewer colours
    #: until it fits), frames per second, frames, and bytes of kept 1x RGB frames in memory (their
    #: paletted pictures, one byte a pixel, add a third to it).
    gif_max_bytes: int = 4 * 1024 * 1024
    gif_fps: float = 10.0
    gif_max_frames: int = 100
    gif_memory_bytes: int = 32 * 1024 * 1024

    def __post_init__(self) -> None:
        if self.max_long_side < 2 or self.max_bytes < 1 or self.max_passes < 1:
            raise ValueError("max_long_side >= 2, max_bytes >= 1 and max_passes >= 1 required")
        if not (0 <= self.crf <= self.crf_crisp <= 51 and self.crf_step >= 1):
            raise ValueError("0 <= crf <= crf_crisp <= 51 and crf_step >= 1 required")
        if not 0 <= self.cavlc_share <= 1:
            raise ValueError("cavlc_share must be in [0, 1]")
        if not (self.size_safety > 0 and 0 < self.retry_factor <= 1):
            raise ValueError("size_safety must be > 0 and retry_factor in (0, 1]")
        if self.preview_size < 1 or self.preview_fps <= 0 or self.preview_max_frames < 1:
            raise ValueError("preview_size, preview_fps and preview_max_frames must be positive")
        if self.gif_max_bytes < 1 or not 0 < self.gif_fps <= 50 or self.gif_max_frames < 1:
            raise ValueError("gif_max_bytes and gif_max_frames >= 1 and 0 < gif_fps <= 50 required")


DEFAULT_SETTINGS: Final = EncodeSettings()


@dataclass
class EncodeResult:
    """What was written. Thumbnail and preview fields are 0 when they were not asked for."""

    width: int
    height: int
    factor: int
    frames: int
    duration_ms: int
    mp4_bytes: int
    passes: int
    bitrate: int
    framerate_hint: int
    #: The CRF of the pass that was kept (the fallback's too: its bitrate cap is ``bitrate``).
    crf: int = 0
    #: Whether the kept pass used CABAC (else CAVLC).
    cabac: bool = True
    #: Every pass tried, in order: factor, crf, bitrate cap, outcome ("kept", "abandoned",
    #: "too_large") and bytes (written, or projected when abandoned).
    attempts: list[dict[str, Any]] = field(default_factory=list)
    thumbnail_index: int = 0
    thumbnail_width: int = 0
    thumbnail_height: int = 0
    thumbnail_bytes: int = 0
    preview_width: int = 0
    preview_height: int = 0
    preview_frames: int = 0
    preview_bytes: int = 0
    gif_width: int = 0
    gif_height: int = 0
    gif_frames: int = 0
    gif_colours: int = 0
    gif_bytes: int = 0
    seconds: float = 0.0
    pass_bytes: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}
