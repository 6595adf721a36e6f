"""Glow, the WebGL piece, in headless Chromium: it draws with WebGL in its palette, follows the
pointer and the keyboard, and records through the tapes library and <tape-recorder>."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tapes import services
from tapes.archive import inspect_archive, iter_frames
from tapes.models import Tape, TapeStatus
from tapes.storage import storage_for
from tests.support.browser import CspWatch, save_screenshot
from tests.support.worker import tapes_worker, worker_log
from tests.web.conftest import in_viewport, touch_drag

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}
LANDSCAPE = {"width": 844, "height": 390}
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


def off_screen(page: Any, *selectors: str) -> list[str]:
    return [selector for selector in selectors if not in_viewport(page, selector)]


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


def finger_take(page: Any, name: str) -> None:
    """Record, play with a finger, Stop, on a phone: the page never scrolls, Stop and then POST
    are on the first screen with the canvas."""
    page.locator("tape-recorder .record").tap()
    page.locator("tape-recorder[state=recording]").wait_for()
    touch_drag(page, "#glow")
    touch_drag(page, "#glow")
    assert page.evaluate("() => window.scrollY") == 0
    assert off_screen(page, "#glow", "tape-recorder .stop") == []
    save_screenshot(page, f"glow-{name}-recording")
    page.locator("tape-recorder .stop").tap()
    page.locator("tape-recorder[state=recorded]").wait_for()
    assert off_screen(page, "tape-recorder .post") == []
    save_screenshot(page, f"glow-{name}-recorded")


@pytest.fixture
def glow_on_a_phone(browser: Any, live_server: Any) -> Iterator[Any]:
    """Opens /glow on a touch phone of the given size; the page once Glow runs."""
    contexts: list[Any] = []

    def opened(viewport: dict[str, int]) -> Any:
        context = browser.new_context(viewport=viewport, has_touch=True, is_mobile=True)
        contexts.append(context)
        page = context.new_page()
        page.goto(live_server.url + "/glow")
        page.locator("#glow-page[data-state=running]").wait_for()
        return page

    yield opened
    for context in contexts:
        context.close()


def test_glow_on_a_phone(glow_on_a_phone: Any) -> None:
    page = glow_on_a_phone(PHONE)
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
    save_screenshot(page, "glow-phone-idle")

    # A finger plays while the take records; the page never scrolls, Stop stays on screen.
    finger_take(page, "phone")
    page.locator("tape-recorder").get_by_role("button", name="POST").tap()
    page.locator("tape-recorder[state=posted]").wait_for(timeout=30_000)
    code = page.locator("tape-recorder .link").inner_text().removeprefix("!")
    assert Tape.objects.filter(code=code, piece="glow").exists()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    save_screenshot(page, "glow-phone-posted")


def hex_colours(frame: np.ndarray) -> set[str]:
    """The distinct colours of an RGB frame, as #rrggbb."""
    rgb = np.unique(frame.reshape(-1, 3), axis=0)
    return {"#" + "".join(f"{int(c):02x}" for c in row) for row in rgb}


def drag_around(page: Any, seconds: float) -> None:
    """A mouse held down and circling the canvas' middle, as someone playing with the piece."""
    box = page.locator("#glow").bounding_box()
    assert box is not None
    cx, cy, r = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, box["width"] / 4
    page.mouse.move(cx + r, cy)
    page.mouse.down()
    steps = max(1, int(seconds * 1000 / 40))
    for i in range(steps):
        angle = 2 * np.pi * i / 24
        page.mouse.move(cx + r * np.cos(angle), cy + r * np.sin(angle))
        page.wait_for_timeout(40)
    page.mouse.up()


def test_glow_records_a_take_in_its_palette_posts_it_and_the_worker_encodes_it(
    page: Any, live_server: Any, local_storage: Path, tmp_path: Path
) -> None:
    csp = CspWatch(page)
    page.goto(live_server.url + "/glow")
    page.locator("#glow-page[data-state=running]").wait_for()
    deck = page.locator("tape-recorder")
    deck.get_by_role("button", name="Record").wait_for()
    save_screenshot(page, "glow-desktop-idle")
    deck.get_by_role("button", name="Record").click()
    page.locator("tape-recorder[state=recording]").wait_for()
    drag_around(page, 1.5)
    save_screenshot(page, "glow-desktop-recording")
    page.locator("#glow-page").get_by_role("button", name="Stop").click()
    page.locator("tape-recorder[state=recorded]").wait_for()
    summary = deck.locator(".summary").inner_text()
    assert summary.startswith("Your take:"), summary
    assert page.locator("tape-recorder").get_by_role("button", name="POST").is_enabled()
    save_screenshot(page, "glow-desktop-recorded")

    deck.get_by_role("button", name="POST").click()
    page.locator("tape-recorder[state=posted]").wait_for(timeout=30_000)
    link = deck.locator(".link")
    code = link.inner_text().removeprefix("!")
    assert link.get_attribute("href") == f"{live_server.url}/t/{code}"
    # Posted by a guest: the way to keep it is offered.
    assert deck.locator(".claim-link").is_visible()
    tape = Tape.objects.get(code=code)
    assert tape.piece == "glow"
    assert tape.user is None

    # The stored ZIP, read as the worker reads it: 192 x 192 at 1x, every frame in Ember's
    # colours (the dither never blends, and readPixels gives them exactly), never a cleared
    # (black) buffer, and the piece moving from frame to frame.
    saved = tmp_path / "glow.zip"
    tape = services.tape_zip_take(tape=tape)  # the encode job's first step
    saved.write_bytes(storage_for(tape.bucket).open(tape.zip_key, "rb").read())
    info = inspect_archive(saved)
    assert (info.width, info.height, info.scale) == (192, 192, 1)
    assert info.frames >= 20, info.frames
    assert info.discrepancies == ()
    frames = list(iter_frames(saved, info))
    assert len(frames) == info.frames
    seen: set[str] = set()
    for number, frame in enumerate(frames):
        colours = hex_colours(frame)
        assert colours <= PALETTES["ember"], (number, colours - PALETTES["ember"])
        assert len(colours) >= 3, f"frame {number} is nearly blank: {colours}"
        seen |= colours
    assert len(seen) >= 5, seen
    assert not np.array_equal(frames[0], frames[-1]), "the piece stood still for the whole take"
    save_screenshot(page, "glow-desktop-posted")
    assert csp.violations() == []

    # A worker comes along and makes it a video.
    with tapes_worker(local_storage):
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            tape.refresh_from_db()
            if tape.status in (TapeStatus.READY, TapeStatus.FAILED):
                break
            time.sleep(0.5)
    assert tape.status == TapeStatus.READY, worker_log(local_storage)


def test_glow_on_a_phone_held_sideways(glow_on_a_phone: Any) -> None:
    """The canvas as tall as the screen allows, with Record beside it on the first screen."""
    page = glow_on_a_phone(LANDSCAPE)
    page.locator("tape-recorder").get_by_role("button", name="Record").wait_for()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= LANDSCAPE["width"]
    assert off_screen(page, "#glow", "tape-recorder .record") == []
    box = page.locator("#glow").bounding_box()
    assert box is not None and box["height"] > LANDSCAPE["height"] * 0.65, box
    # The colours right under the deck, and no keyboard hint on a touch screen.
    deck, tools = (
        page.locator("tape-recorder").bounding_box(),
        page.locator(".glow-tools").bounding_box(),
    )
    assert deck and tools and 0 <= tools["y"] - (deck["y"] + deck["height"]) <= 20, (
        deck,
        tools,
    )
    assert page.locator("#glow-keys").is_hidden()
    save_screenshot(page, "glow-landscape-idle")
    finger_take(page, "landscape")
