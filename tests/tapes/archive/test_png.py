"""PNG flavours (palette, grey, grey+alpha, 1-bit, 16-bit) all become RGB8; the Pillow fallback
agrees with imagecodecs."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import imagecodecs
import numpy as np
import pytest
from PIL import Image

from tapes.archive import (
    ArchiveError,
    inspect_archive,
    png,
)
from tests.support.synth import SynthTape, frame_name, json_bytes, timing_document, write_zip
from tests.tapes.archive.helpers import TapeFactory, assert_frames_match, read_all


def pillow_png(image: Image.Image, **params: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", **params)
    return buffer.getvalue()


def _rgb_source() -> np.ndarray:
    rng = np.random.default_rng(11)
    return rng.integers(0, 256, size=(10, 14, 3), dtype=np.uint8)


def _flavours() -> Iterator[tuple[str, bytes, np.ndarray]]:
    rgb = _rgb_source()
    grey = rgb[:, :, 0]
    alpha = rgb[:, :, 1]
    palette = Image.fromarray(rgb).quantize(16)
    yield "palette", pillow_png(palette), np.asarray(palette.convert("RGB"))
    yield "grey", pillow_png(Image.fromarray(grey)), np.repeat(grey[:, :, None], 3, 2)
    grey_alpha = np.dstack([grey, alpha])
    over = ((grey.astype(np.uint16) * alpha + 127) // 255).astype(np.uint8)
    yield "grey+alpha", pillow_png(Image.fromarray(grey_alpha, "LA")), np.dstack([over] * 3)
    bits = grey > 127
    yield "1-bit", pillow_png(Image.fromarray(bits)), np.dstack([bits.astype(np.uint8) * 255] * 3)
    deep = rgb.astype(np.uint16) * 257 + 100  # 16-bit samples that do not round trivially
    expected = ((deep.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    yield "rgb16", bytes(imagecodecs.png_encode(deep)), expected
    grey16 = deep[:, :, 0]
    yield "grey16", pillow_png(Image.fromarray(grey16)), np.dstack([expected[:, :, 0]] * 3)


@pytest.mark.parametrize("flavour", list(_flavours()), ids=lambda f: f[0])
def test_png_flavours_become_rgb8(flavour: tuple[str, bytes, np.ndarray], tmp_path: Path) -> None:
    _, data, expected = flavour
    meta = {"piece": "flavour", "resolution": {"scale": 1}}
    entries = [
        (frame_name(0), data),
        ("timing.json", json_bytes(timing_document([16.7]))),
        ("metadata.json", json_bytes(meta)),
    ]
    path = write_zip(tmp_path / "tape.zip", entries)
    info = inspect_archive(path)
    (frame,) = read_all(path, info)
    np.testing.assert_array_equal(frame, expected)


def test_decoded_size_differing_from_the_header_is_rejected(
    small_tape: SynthTape, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = inspect_archive(small_tape.path)
    monkeypatch.setattr(png, "png_decode", lambda data: np.zeros((5, 5, 3), np.uint8))
    with pytest.raises(ArchiveError) as caught:
        read_all(small_tape.path, info)
    assert caught.value.code == "validation_frame_size_mismatch"


def test_pillow_fallback_gives_the_same_frames(
    tape_factory: TapeFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(png, "png_decode", png.pillow_png_decode)
    for alpha in (False, True):
        tape = tape_factory(frames=3, width=32, height=20, scale=2, alpha=alpha)
        assert_frames_match(tape, read_all(tape.path, inspect_archive(tape.path)))
