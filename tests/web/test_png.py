"""The recorder's PNG encoder (static/tapes/png.js), run in Chromium, read back by Pillow: every
pixel exact, palette when a frame has at most 256 colours, filtered RGB beyond."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.django_db(transaction=True)

ENCODE = """
async ({width, height, colours}) => {
  const { encodePng } = await import('/static/tapes/png.js');
  const rgba = new Uint8ClampedArray(width * height * 4);
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const palette = Array.from({length: colours}, () =>
    [Math.floor(random() * 256), Math.floor(random() * 256), Math.floor(random() * 256)]);
  for (let i = 0; i < width * height; i += 1) {
    // Runs of one colour with some noise, like strokes on paper.
    const c = palette[Math.floor(i / 7 + random() * 3) % colours];
    rgba.set([c[0], c[1], c[2], 255], i * 4);
  }
  return {png: Array.from(encodePng(rgba, width, height)), rgba: Array.from(rgba)};
}
"""


@pytest.mark.parametrize(("colours", "mode"), [(1, "P"), (17, "P"), (256, "P"), (5000, "RGB")])
def test_frames_round_trip_exactly(page: Any, live_server: Any, colours: int, mode: str) -> None:
    page.goto(live_server.url + "/tapes")
    width, height = 61, 47  # odd sizes: no row happens to line up
    out = page.evaluate(ENCODE, {"width": width, "height": height, "colours": colours})
    image = Image.open(io.BytesIO(bytes(out["png"])))
    image.load()  # checks every chunk's CRC and the zlib stream
    assert image.mode == mode
    assert image.size == (width, height)
    expected = np.array(out["rgba"], dtype=np.uint8).reshape(height, width, 4)[:, :, :3]
    assert (np.asarray(image.convert("RGB")) == expected).all()


def test_a_flat_drawing_frame_is_tiny(page: Any, live_server: Any) -> None:
    page.goto(live_server.url + "/tapes")
    size = page.evaluate(
        """async () => {
            const { encodePng } = await import('/static/tapes/png.js');
            const rgba = new Uint8ClampedArray(256 * 192 * 4).fill(255);
            for (let x = 40; x < 200; x += 1) rgba.set([255, 0, 77, 255], (96 * 256 + x) * 4);
            return encodePng(rgba, 256, 192).length;
        }"""
    )
    assert size < 300
