"""The encoder, checked by reading its files back with PyAV and Pillow.

Colour checks compare decoded Y'CbCr planes with the exact BT.709 TV-range values of the source,
not RGB from swscale's YUV->RGB path: that path is itself off by up to 3 levels on saturated
colours, which would hide (or fake) an encoder error.
"""

from __future__ import annotations

import statistics
import struct
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from tapes.encoder import (
    EncodeError,
    EncodeSettings,
    nearest,
    output_geometry,
    preview_geometry,
    render_tape,
)
from tapes.timing import frame_timing
from tests.support.synth import SynthTape, make_durations
from tests.support.video import bt709, decoded_planes
from tests.tapes.encoder.conftest import Rendered

Render = Callable[..., Rendered]
TapeFactory = Callable[..., SynthTape]

# --------------------------------------------------------------------------------------------
# Reading back


@dataclass(frozen=True)
class VideoFacts:
    width: int
    height: int
    pix_fmt: str
    tags: tuple[int, int, int, int]  # primaries, transfer, matrix, range
    level: int
    pts_ms: list[int]
    media_ms: int  # mdhd: what FFmpeg-based players report
    presentation_ms: int  # mvhd / edit list


def probe(path: Path) -> VideoFacts:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        codec = stream.codec_context
        time_base = stream.time_base
        assert time_base is not None
        pts = [int((frame.pts or 0) * time_base * 1000) for frame in container.decode(stream)]
        assert stream.duration is not None and container.duration is not None
        return VideoFacts(
            width=codec.width,
            height=codec.height,
            pix_fmt=codec.pix_fmt or "",
            tags=(codec.color_primaries, codec.color_trc, codec.colorspace, codec.color_range),
            level=codec.level,
            pts_ms=pts,
            media_ms=round(stream.duration * time_base * 1000),
            presentation_ms=round(container.duration / 1000),
        )


def top_level_boxes(path: Path) -> list[str]:
    data, boxes, pos = path.read_bytes(), [], 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8 : pos + 16])[0]
        boxes.append(kind.decode("latin-1"))
        pos += size or len(data)
    return boxes


def expected_planes(rgb: np.ndarray, factor: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The planes a perfect encoder holds for a 1x frame upscaled by an even ``factor``."""
    ycc = bt709(rgb)
    luma = np.repeat(np.repeat(ycc[:, :, 0], factor, 0), factor, 1)
    half = factor // 2
    cb, cr = (np.repeat(np.repeat(ycc[:, :, i], half, 0), half, 1) for i in (1, 2))
    return luma, cb, cr


def to_rgb(planes: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    """What a correct BT.709 player shows (chroma repeated, exact inverse matrix)."""
    y, cb, cr = (p.astype(np.float64) for p in planes)
    h, w = y.shape
    cb, cr = (np.repeat(np.repeat(c, 2, 0), 2, 1)[:h, :w] for c in (cb, cr))
    y, cb, cr = (y - 16) / 219, (cb - 128) / 224, (cr - 128) / 224
    r, b = y + 1.5748 * cr, y + 1.8556 * cb
    g = (y - 0.2126 * r - 0.0722 * b) / 0.7152
    return np.clip(np.round(np.stack([r, g, b], -1) * 255), 0, 255).astype(np.uint8)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


def webp_animation(path: Path) -> tuple[tuple[int, int], int, list[int]]:
    """(canvas size, loop count, frame durations in ms) from the RIFF chunks of an animated WebP."""
    data = path.read_bytes()
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    pos, canvas, loop, durations = 12, (0, 0), -1, []
    while pos + 8 <= len(data):
        kind, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        body = data[pos + 8 : pos + 8 + size]
        if kind == b"VP8X":
            canvas = (
                int.from_bytes(body[4:7], "little") + 1,
                int.from_bytes(body[7:10], "little") + 1,
            )
        elif kind == b"ANIM":
            loop = struct.unpack("<H", body[4:6])[0]
        elif kind == b"ANMF":
            durations.append(int.from_bytes(body[12:15], "little"))
        pos += 8 + size + (size & 1)
    return canvas, loop, durations


# --------------------------------------------------------------------------------------------
# Geometry


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((256, 256), (512, 512, 2)),
        ((255, 133), (510, 266, 2)),
        ((270, 100), (540, 200, 2)),
        ((100, 180), (200, 360, 2)),
        ((64, 48), (512, 384, 8)),
        ((271, 100), (272, 100, 1)),
        ((1024, 768), (1024, 768, 1)),
        ((1, 1), (540, 540, 540)),
    ],
)
def test_output_geometry(size: tuple[int, int], expected: tuple[int, int, int]) -> None:
    assert output_geometry(*size) == expected


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((256, 256), (1024, 1024, 4)),
        ((255, 133), (1020, 532, 4)),
        ((500, 300), (1000, 600, 2)),
        ((540, 540), (1080, 1080, 2)),
        ((270, 100), (1080, 400, 4)),
        ((100, 180), (600, 1080, 6)),
        ((541, 300), (542, 300, 1)),
        ((601, 301), (602, 302, 1)),
    ],
)
def test_output_geometry_with_a_larger_long_side(
    size: tuple[int, int], expected: tuple[int, int, int]
) -> None:
    assert output_geometry(*size, max_long_side=1080) == expected


@pytest.mark.parametrize("long_side", [540, 1080])
def test_output_geometry_factor_is_even_and_fits(long_side: int) -> None:
    for width in range(1, 600, 7):
        for height in (1, 2, 3, 133, 255, 540):
            out_w, out_h, factor = output_geometry(width, height, long_side)
            assert out_w % 2 == 0 and out_h % 2 == 0
            if factor > 1:
                assert factor % 2 == 0 and max(out_w, out_h) <= long_side
                assert max(width, height) * (factor + 2) > long_side  # the largest even factor


@pytest.mark.parametrize(
    ("size", "expected"),
    [((256, 256), (256, 256)), ((40, 24), (240, 144)), ((600, 300), (256, 128))],
)
def test_preview_geometry(size: tuple[int, int], expected: tuple[int, int]) -> None:
    assert preview_geometry(*size, 256) == expected


# --------------------------------------------------------------------------------------------
# The MP4


def test_mp4_is_frame_exact_vfr_h264(tape_factory: TapeFactory, render: Render) -> None:
    durations = [*make_durations(47, seed=3)]
    durations[20] = 640.0  # a pause mid-tape
    durations[-1] = 733.3  # a long last frame must be honoured, not guessed
    tape = tape_factory(frames=47, scale=2, seed=3, durations_ms=durations)
    out = render(tape)
    timing = frame_timing(durations)
    facts = probe(out.mp4)

    assert (facts.width, facts.height, out.result.factor) == (512, 512, 2)
    assert facts.pix_fmt == "yuv420p"
    assert facts.tags == (1, 1, 1, 1)  # BT.709 primaries, transfer, matrix; TV range
    # The 24 Mbit/s VBV ceiling keeps the level at 4.1 at most (Main profile: what any device
    # that plays 1080p plays); an unbounded VBV would declare 6.2.
    assert facts.level <= 41
    assert facts.pts_ms == list(timing.pts)
    assert facts.media_ms == facts.presentation_ms == timing.total_ms
    assert abs(timing.total_ms - sum(durations)) <= 0.5
    assert top_level_boxes(out.mp4).index("moov") < top_level_boxes(out.mp4).index("mdat")

    result = out.result
    assert (result.frames, result.duration_ms, result.passes) == (47, timing.total_ms, 1)
    assert result.mp4_bytes == out.mp4.stat().st_size <= EncodeSettings().max_bytes
    assert result.framerate_hint == round(1000 / statistics.median(durations))


def test_progress_rises_to_one(tape_factory: TapeFactory, render: Render) -> None:
    out = render(tape_factory(frames=30, width=64, height=64, scale=1))
    assert out.progress == sorted(out.progress)
    assert len(set(out.progress)) == len(out.progress)
    assert out.progress[-1] == 1.0 and 0 < out.progress[0] < 0.1


def test_lossless_planes_are_exact_bt709(tape_factory: TapeFactory, render: Render) -> None:
    # Quantisation aside, the pipeline is exact: POINT upscale by an even factor plus a correctly
    # rounded BT.709 matrix, and no chroma sample straddles two source pixels. Odd 1x sizes too.
    for width, height in ((256, 256), (255, 133)):
        tape = tape_factory(frames=8, width=width, height=height, scale=1, pattern="bars")
        out = render(tape, crf=0)
        factor = out.result.factor
        assert factor == 2
        for index, planes in enumerate(decoded_planes(out.mp4)):
            for got, want in zip(planes, expected_planes(tape.frame(index), factor), strict=True):
                np.testing.assert_array_equal(got, want)
            # And a correct player shows the source colours within the 8-bit rounding.
            rgb = to_rgb(planes).astype(np.int64)
            source = nearest(tape.frame(index), width * factor, height * factor)
            assert np.abs(rgb - source).max() <= 1


def test_flat_colours_survive_the_default_quality(
    tape_factory: TapeFactory, render: Render
) -> None:
    # Every frame one saturated colour, changing every frame (the hardest case for flat areas):
    # at the first rung of the quality ladder (CRF 8) flat planes move by at most 3 code values.
    tape = tape_factory(frames=16, width=64, height=64, scale=2, pattern="flat")
    out = render(tape)
    worst_ycc, worst_rgb = 0, 0
    for index, planes in enumerate(decoded_planes(out.mp4)):
        want = expected_planes(tape.frame(index), out.result.factor)
        errors = (int(np.abs(g - w).max()) for g, w in zip(planes, want, strict=True))
        worst_ycc = max(worst_ycc, *errors)
        shown = to_rgb(planes).astype(np.int64)
        worst_rgb = max(worst_rgb, int(np.abs(shown - tape.frame(index)[0, 0]).max()))
    assert worst_ycc <= 3
    assert worst_rgb <= 8


def test_six_x_tape_gives_the_frames_of_its_one_x_twin(
    tape_factory: TapeFactory, render: Render
) -> None:
    big = render(tape_factory(frames=20, scale=6, seed=5))
    small = render(tape_factory(frames=20, scale=1, seed=5))
    assert (big.result.width, big.result.factor) == (small.result.width, small.result.factor)
    twins = list(zip(decoded_planes(big.mp4), decoded_planes(small.mp4), strict=True))
    assert len(twins) == 20
    for a, b in twins:
        for plane_a, plane_b in zip(a, b, strict=True):
            np.testing.assert_array_equal(plane_a, plane_b)
    assert big.thumbnail.read_bytes() == small.thumbnail.read_bytes()
    assert big.preview.read_bytes() == small.preview.read_bytes()


def test_shapes_quality(tape_factory: TapeFactory, render: Render) -> None:
    tape = tape_factory(frames=20, scale=1, seed=2)
    out = render(tape)
    for index, planes in enumerate(decoded_planes(out.mp4)):
        source = nearest(tape.frame(index), out.result.width, out.result.height)
        assert psnr(to_rgb(planes), source) > 33


def test_one_frame_tape(tape_factory: TapeFactory, render: Render) -> None:
    tape = tape_factory(frames=1, width=32, height=20, scale=3, durations_ms=[1234.5])
    out = render(tape)
    facts = probe(out.mp4)
    assert (facts.width, facts.height, out.result.factor) == (512, 320, 16)
    assert facts.pts_ms == [0]
    assert facts.media_ms == facts.presentation_ms == 1235
    assert out.result.thumbnail_index == 0 and out.result.preview_frames == 1
    assert Image.open(out.preview).size == (256, 160)


def test_odd_size_beyond_2x_is_padded_at_1x(tape_factory: TapeFactory, render: Render) -> None:
    tape = tape_factory(frames=6, width=601, height=301, scale=1, seed=4)
    out = render(tape)
    facts = probe(out.mp4)
    assert (facts.width, facts.height, out.result.factor) == (602, 302, 1)
    assert (out.result.thumbnail_width, out.result.thumbnail_height) == (601, 301)
    assert facts.pts_ms == list(frame_timing(tape.durations_ms).pts)
    for index, planes in enumerate(decoded_planes(out.mp4)):
        shown = to_rgb(planes)
        assert psnr(shown[:301, :601], tape.frame(index)) > 25  # 4:2:0 at 1x: chroma is shared
        # The extra row and column repeat the edge (no dark seam).
        assert np.abs(planes[0][:, 601].astype(int) - planes[0][:, 600]).mean() < 3
        assert np.abs(planes[0][301].astype(int) - planes[0][300]).mean() < 3


# --------------------------------------------------------------------------------------------
# Size cap


def test_oversized_pass_is_redone_at_a_lower_rate(
    tape_factory: TapeFactory, render: Render
) -> None:
    tape = tape_factory(frames=30, scale=1, seed=6, pauses=False)
    # size_safety 3 deliberately aims the first pass at 3x the cap, so it must come out too large.
    out = render(tape, max_bytes=60_000, size_safety=3.0, check_flat=False)
    result = out.result
    assert result.passes >= 2 and result.pass_bytes[0] > 60_000
    assert result.mp4_bytes == out.mp4.stat().st_size <= 60_000
    assert len(probe(out.mp4).pts_ms) == 30


def test_too_large_after_every_pass(tape_factory: TapeFactory, render: Render) -> None:
    tape = tape_factory(frames=30, scale=1, seed=6, pauses=False)
    with pytest.raises(EncodeError) as caught:
        render(tape, max_bytes=2_000, max_passes=2)
    assert caught.value.code == "encode_too_large"
    assert len(caught.value.details["bytes"]) == 2
    assert not list(Path(tape.path).parent.glob("out*"))  # no half-made outputs left behind


# --------------------------------------------------------------------------------------------
# Thumbnail and preview


def test_thumbnail_is_a_lossless_busy_frame(tape_factory: TapeFactory, render: Render) -> None:
    tape = tape_factory(frames=40, width=64, height=48, scale=2, seed=8)
    out = render(tape)
    result = out.result
    thumb = Image.open(out.thumbnail)
    assert thumb.format == "WEBP" and thumb.size == (512, 384)
    expected = nearest(tape.frame(result.thumbnail_index), 512, 384)
    np.testing.assert_array_equal(np.asarray(thumb.convert("RGB")), expected)


def test_blank_first_frame_is_not_the_thumbnail(tmp_path: Path) -> None:
    frames = [np.zeros((16, 16, 3), np.uint8)] + [
        np.random.default_rng(i).integers(0, 256, (16, 16, 3), dtype=np.uint8) for i in range(9)
    ]
    result = render_tape(
        lambda: iter(frames),
        [100.0] * 10,
        16,
        16,
        mp4_path=tmp_path / "a.mp4",
        thumbnail_path=tmp_path / "a.png",
        preview_path=tmp_path / "a.webp",
    )
    assert result.thumbnail_index != 0
    assert Image.open(tmp_path / "a.png").format == "PNG"


def test_preview_is_a_small_animation_with_the_tape_timing(
    tape_factory: TapeFactory, render: Render
) -> None:
    tape = tape_factory(frames=60, width=40, height=24, scale=3, seed=9)
    out = render(tape)
    canvas, loop, durations = webp_animation(out.preview)
    assert canvas == (240, 144) and loop == 0
    assert len(durations) == out.result.preview_frames > 1
    assert sum(durations) == frame_timing(tape.durations_ms).total_ms
    assert min(durations[:-1]) >= 65  # <= ~15 fps (1 ms slack for integer timestamps)
    preview = Image.open(out.preview)
    assert getattr(preview, "is_animated", False)
    np.testing.assert_array_equal(
        np.asarray(preview.convert("RGB")), nearest(tape.frame(0), 240, 144)
    )


def test_preview_frame_count_is_capped(tmp_path: Path) -> None:
    frames = 200
    result = render_tape(
        lambda: (np.full((8, 8, 3), i, np.uint8) for i in range(frames)),
        [100.0] * frames,
        8,
        8,
        mp4_path=tmp_path / "a.mp4",
        thumbnail_path=tmp_path / "a.webp",
        preview_path=tmp_path / "p.webp",
        settings=EncodeSettings(preview_max_frames=50),
    )
    _, _, durations = webp_animation(tmp_path / "p.webp")
    assert result.preview_frames == len(durations) <= 50
    assert sum(durations) == 20_000


# --------------------------------------------------------------------------------------------
# Bad input


def _frames_of(shape: tuple[int, ...], count: int, dtype: type = np.uint8) -> Callable[[], object]:
    return lambda: (np.zeros(shape, dtype) for _ in range(count))


@pytest.mark.parametrize(
    ("frames", "durations", "code"),
    [
        (_frames_of((16, 16, 3), 3), [], "encode_no_frames"),
        (_frames_of((16, 16, 3), 3), [10.0, -1.0, 10.0], "encode_bad_timing"),
        (_frames_of((16, 16, 3), 2), [10.0] * 3, "encode_frame_count"),
        (_frames_of((16, 16, 3), 4), [10.0] * 3, "encode_frame_count"),
        (_frames_of((16, 16, 4), 3), [10.0] * 3, "encode_bad_frame"),
        (_frames_of((16, 16, 3), 3, np.uint16), [10.0] * 3, "encode_bad_frame"),
        (_frames_of((17, 16, 3), 3), [10.0] * 3, "encode_bad_frame"),
    ],
)
def test_bad_input_is_an_encode_error(
    tmp_path: Path, frames: Callable[[], object], durations: list[float], code: str
) -> None:
    with pytest.raises(EncodeError) as caught:
        render_tape(
            frames,  # type: ignore[arg-type]
            durations,
            16,
            16,
            mp4_path=tmp_path / "a.mp4",
            thumbnail_path=tmp_path / "a.webp",
            preview_path=tmp_path / "p.webp",
        )
    assert caught.value.code == code
    assert not list(tmp_path.iterdir())


def test_unwritable_output_is_encode_failed(tmp_path: Path) -> None:
    with pytest.raises(EncodeError) as caught:
        render_tape(
            _frames_of((16, 16, 3), 2),  # type: ignore[arg-type]
            [10.0, 10.0],
            16,
            16,
            mp4_path=tmp_path / "missing" / "a.mp4",
            thumbnail_path=tmp_path / "a.webp",
            preview_path=tmp_path / "p.webp",
        )
    assert caught.value.code == "encode_failed"


def test_vfr_time_base_is_milliseconds(tape_factory: TapeFactory, render: Render) -> None:
    # Jittered timestamps only survive a 1/1000 time base (1/60 would collide and be rejected).
    tape = tape_factory(frames=12, width=16, height=16, scale=1, durations_ms=[1.0, 0.4] * 6)
    out = render(tape)
    with av.open(str(out.mp4)) as container:
        time_base = container.streams.video[0].time_base
        assert time_base is not None and (Fraction(1, 1000) / time_base).denominator == 1
    assert probe(out.mp4).pts_ms == list(frame_timing(tape.durations_ms).pts)
