"""Glow, the WebGL piece, in headless Chromium: it draws with WebGL in its palette, follows the
pointer and the keyboard, and records through the tapes library and <tape-recorder>."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.browser import CspWatch, save_screenshot

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}
PALETTES = {
    "ember": {"#000000", "#1d2b53", "#7e2553", "#ff004d", "#ffa300", "#ffec27", "#fff1e8"},
    "sea": {"#000000", "#1d2b53", "#008751", "#29adff", "#c2c3c7", "#fff1e8"},
}

# The WebGL canvas read in an animation frame, right after the piece drew it (its buffer is not
# preserved): {colour: pixel count}, and the mean brightness of a square around (x, y).
_READ_GLOW = """([x, y, r]) => new Promise((resolve) => requestAnimationFrame(() => {
    const gl = document.getElementById('glow');
    const copy = document.createElement('canvas');
    copy.width = gl.width; copy.height = gl.height;
    const ctx = copy.getContext('2d');
    ctx.drawImage(gl, 0, 0);
    const d = ctx.getImageData(0, 0, copy.width, copy.height).data;
    const counts = {};
    let near = 0, nearN = 0;
    for (let i = 0; i < d.length; i += 4) {
        const hex = '#' + [d[i], d[i + 1], d[i + 2]]
            .map((v) => v.toString(16).padStart(2, '0')).join('');
        counts[hex] = (counts[hex] || 0) + 1;
        const px = (i / 4) % copy.width, py = Math.floor(i / 4 / copy.width);
        if (Math.abs(px - x) <= r && Math.abs(py - y) <= r) {
            near += d[i] + d[i + 1] + d[i + 2]; nearN++;
        }
    }
    resolve({counts, near: near / nearN / 3, size: [gl.width, gl.height]});
}))"""


def read_glow(page: Any, x: float = 0, y: float = 0, r: float = 8) -> dict[str, Any]:
    return dict(page.evaluate(_READ_GLOW, [x, y, r]))


def test_glow_draws_with_webgl_in_its_palette_and_follows_the_pointer(
    page: Any, live_server: Any
) -> None:
    csp = CspWatch(page)
    page.goto(live_server.url + "/glow")
    page.locator("#glow-page[data-state=running]").wait_for()
    assert page.get_by_role("link", name="Glow").get_attribute("aria-current") == "page"
    context = page.evaluate(
        """() => { const c = document.getElementById('glow');
                   const gl = c.getContext('webgl2') || c.getContext('webgl');
                   const kept = gl.getContextAttributes().preserveDrawingBuffer;
                   return {webgl: !!gl, preserved: kept}; }"""
    )
    assert context == {"webgl": True, "preserved": False}

    seen = read_glow(page)
    assert seen["size"] == [192, 192]
    assert set(seen["counts"]) <= PALETTES["ember"], seen["counts"]
    assert len(seen["counts"]) >= 3, "the piece drew too few colours to be alive"

    # Held down in a corner, the lights gather there: the corner grows brighter.
    corner = read_glow(page, 24, 24, 10)["near"]
    box = page.locator("#glow").bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] * 24 / 192, box["y"] + box["height"] * 24 / 192
    page.mouse.move(x, y)
    page.mouse.down()
    for i in range(30):
        page.mouse.move(x + (i % 3), y + (i % 2))
        page.wait_for_timeout(40)
    lit = read_glow(page, 24, 24, 10)["near"]
    page.mouse.up()
    assert lit > corner + 40, (corner, lit)
    save_screenshot(page, "glow-desktop")

    # Another palette: every pixel is one of its colours (the dither never blends).
    page.get_by_role("radio", name="Sea").check()
    page.locator("#glow-page[data-palette=sea]").wait_for()
    page.wait_for_timeout(100)
    assert set(read_glow(page)["counts"]) <= PALETTES["sea"]

    # The keyboard: arrow keys move the glow, Space drops a spark, and the page never scrolls.
    page.locator("#glow").focus()
    before = read_glow(page, 96 + 30, 96, 8)["near"]
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Space")
    page.wait_for_timeout(600)
    after = read_glow(page, 96 + 30, 96, 8)["near"]
    assert after > before, (before, after)
    assert page.evaluate("() => window.scrollY") == 0
    assert csp.violations() == []


def test_glow_on_a_phone(browser: Any, live_server: Any) -> None:
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    page = context.new_page()
    try:
        page.goto(live_server.url + "/glow")
        page.locator("#glow-page[data-state=running]").wait_for()
        box = page.locator("#glow").bounding_box()
        assert box is not None
        assert box["width"] > PHONE["width"] * 0.8, box
        assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
        record = page.locator("tape-recorder").get_by_role("button", name="Record")
        record.wait_for()
        # Record right under the canvas, on the first screen.
        record_box = record.bounding_box()
        assert record_box is not None
        assert record_box["y"] + record_box["height"] <= PHONE["height"], record_box
        save_screenshot(page, "glow-phone")
    finally:
        context.close()
