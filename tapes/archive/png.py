"""PNG frames: the 33-byte header check that runs before anything is inflated, decoding
(imagecodecs, Pillow as the fallback) and the conversion of any PNG flavour to RGB."""

from __future__ import annotations

import io
import math
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np

from tapes.archive.errors import fail
from tapes.archive.limits import MiB


def pillow_png_decode(data: bytes) -> np.ndarray:
    """Fallback decoder; returns what imagecodecs would (palette expanded, 1-bit as 0/255)."""
    from PIL import Image  # only the fallback needs Pillow: most processes never load it

    with Image.open(io.BytesIO(data), formats=["PNG"]) as im:
        im.load()
        if im.mode in ("P", "PA", "1", "L", "RGB") and "transparency" in im.info:
            return np.asarray(im.convert("RGBA"))
        if im.mode in ("P", "1"):
            return np.asarray(im.convert("RGB" if im.mode == "P" else "L"))
        if im.mode.startswith("I"):
            return np.asarray(im).astype(np.uint16)
        return np.asarray(im)


def _load_png_decoder() -> Callable[[bytes], np.ndarray]:
    try:  # at import time, once: the decoder is chosen by what is installed
        from imagecodecs import png_decode
    except ImportError:  # pragma: no cover - imagecodecs is a dependency; Pillow is ~7x slower
        return pillow_png_decode
    return png_decode


#: The decoder in use; a module attribute so a test can swap in the fallback.
png_decode: Callable[[bytes], np.ndarray] = _load_png_decoder()

_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
_IHDR: Final = struct.Struct(">I4sIIBBBBB")
PNG_HEAD_BYTES: Final = len(_PNG_SIGNATURE) + _IHDR.size + 4  # signature, IHDR, its CRC: 33
_VALID_DEPTHS: Final = {0: {1, 2, 4, 8, 16}, 2: {8, 16}, 3: {1, 2, 4, 8}, 4: {8, 16}, 6: {8, 16}}
_CHANNELS: Final = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


@dataclass(frozen=True)
class PngHeader:
    width: int
    height: int
    bit_depth: int
    colour_type: int

    @property
    def has_alpha(self) -> bool:
        return self.colour_type in (4, 6)

    def max_file_bytes(self) -> int:
        """Generous upper bound of a PNG of this shape: raw scanlines stored uncompressed (worst
        case, including interlacing) plus slack for ancillary chunks. Anything larger is a bomb."""
        row = 1 + math.ceil(self.width * _CHANNELS[self.colour_type] * self.bit_depth / 8)
        raw = self.height * row
        return raw + raw // 50 + 8 * self.height + MiB


def parse_png_header(head: bytes, name: str) -> PngHeader:
    if head[: len(_PNG_SIGNATURE)] != _PNG_SIGNATURE:
        raise fail("validation_frame_not_png", f"{name} is not a PNG image.", entry=name)
    if len(head) < PNG_HEAD_BYTES:
        raise fail("validation_corrupt", f"{name} is a truncated PNG.", entry=name)
    length, ctype, width, height, depth, colour, comp, filt, interlace = _IHDR.unpack_from(head, 8)
    (crc,) = struct.unpack_from(">I", head, 8 + _IHDR.size)
    valid = (
        length == 13
        and ctype == b"IHDR"
        and crc == zlib.crc32(head[12 : 8 + _IHDR.size])
        and width > 0
        and height > 0
        and depth in _VALID_DEPTHS.get(colour, ())
        and comp == 0
        and filt == 0
        and interlace in (0, 1)
    )
    if not valid:
        raise fail("validation_corrupt", f"{name} has an invalid PNG header.", entry=name)
    return PngHeader(width, height, depth, colour)


def decode_png(data: bytes, name: str, width: int, height: int) -> np.ndarray:
    try:
        image = png_decode(data)
    except Exception as exc:  # both decoders raise a variety of types on garbage
        raise fail(
            "validation_corrupt", f"{name} could not be decoded as PNG.", entry=name, error=str(exc)
        ) from exc
    if image.ndim not in (2, 3) or image.shape[:2] != (height, width):
        raise fail(
            "validation_frame_size_mismatch",
            f"{name} decodes to {image.shape[1]}x{image.shape[0]}; its header says "
            f"{width}x{height}.",
            entry=name,
        )
    return image


def to_rgb8(image: np.ndarray) -> np.ndarray:
    """Any decoded PNG (grey, grey+alpha, RGB, RGBA; 8 or 16 bit) -> C-contiguous RGB uint8."""
    if image.ndim == 2:
        image = image[:, :, None]
    if image.dtype == np.uint16:
        image = ((image.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise fail("validation_corrupt", f"unsupported PNG sample type {image.dtype}.")
    channels = image.shape[2]
    if channels in (2, 4):
        alpha = image[:, :, channels - 1 :]
        image = image[:, :, : channels - 1]
        if alpha.min() < 255:
            # The recorder's canvas is opaque; a transparent pixel shows the black page behind
            # it. (c * a + 127) // 255 is c * a / 255 rounded, in integers.
            image = ((image.astype(np.uint16) * alpha + 127) // 255).astype(np.uint8)
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    return np.ascontiguousarray(image)
