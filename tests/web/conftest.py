"""Helpers for the pages' browser tests: a signed-in browser, and the recorder driven like a
person would. (Tape rows come from the ``make_tape`` fixture of tests/support/tape_rows.py.)"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.test import Client


def sign_in(page: Any, live_server: Any, user: Any) -> None:
    """Sign a browser in with a real session cookie, as if the user had logged in."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": live_server.url}]
    )


# How many pixels of the canvas ``selector`` differ from its top-left pixel (-1: no canvas).
_COUNT_INK = """(selector) => {
    const c = document.querySelector(selector);
    if (!c) return -1;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) {
        if (d[i] !== d[0] || d[i + 1] !== d[1] || d[i + 2] !== d[2]) n++;
    }
    return n;
}"""


def canvas_ink(page: Any, selector: str) -> int:
    """How many pixels of a canvas differ from its top-left pixel (0 for a blank canvas)."""
    count = int(page.evaluate(_COUNT_INK, selector))
    assert count >= 0, f"no canvas {selector} on the page"
    return count


def wait_for_ink(page: Any, selector: str, minimum: int, *, timeout_ms: int = 10_000) -> None:
    """Wait until a canvas shows more than ``minimum`` inked pixels; on a timeout, fail with
    what the page said about its playback (so a blank canvas is told from a missing one)."""
    try:
        page.wait_for_function(
            f"([selector, minimum]) => ({_COUNT_INK})(selector) > minimum",
            arg=[selector, minimum],
            timeout=timeout_ms,
        )
    except Exception as exc:
        state = page.evaluate(
            """(selector) => {
                const tape = document.getElementById('tape');
                return {present: !!document.querySelector(selector),
                        video: !!document.getElementById('tape-video'),
                        data: tape ? {...tape.dataset} : null};
            }""",
            selector,
        )
        raise AssertionError(f"{selector} never showed ink: {state}") from exc


def scribble(page: Any, seconds: float, *, start: float = 0.2) -> None:
    """Draw zig-zags across the recorder's canvas for about ``seconds``."""
    box = page.locator("#paper").bounding_box()
    assert box is not None
    x0, y0 = box["x"] + box["width"] * start, box["y"] + box["height"] * 0.3
    page.mouse.move(x0, y0)
    page.mouse.down()
    deadline = time.monotonic() + seconds
    i = 0
    while time.monotonic() < deadline:
        x = x0 + (box["width"] * 0.6) * ((i % 20) / 20)
        y = y0 + (box["height"] * 0.4) * (((i // 20) % 2) if i % 2 else 0.5)
        page.mouse.move(x, y, steps=2)
        page.wait_for_timeout(30)
        i += 1
    page.mouse.up()


def record_take(page: Any, seconds: float) -> dict[str, Any]:
    """Press Record, draw for ``seconds``, press Stop; the take the page made."""
    page.locator("#recorder[data-ready=true]").wait_for()
    page.get_by_role("button", name="Record").click()
    scribble(page, seconds)
    page.get_by_role("button", name="Stop").click()
    page.locator("#recorder[data-state=recorded]").wait_for()
    take = page.evaluate("() => ({...document.getElementById('recorder').dataset})")
    return {"ms": float(take["takeMs"]), "frames": int(take["takeFrames"])}


# How many takes the recorder keeps in the browser (static/web/takes.js's IndexedDB store).
_KEPT_TAKES = """() => new Promise((resolve, reject) => {
    const open = indexedDB.open('tapesite-takes');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
        const db = open.result;
        if (!db.objectStoreNames.contains('takes')) { db.close(); resolve(0); return; }
        const count = db.transaction('takes').objectStore('takes').count();
        count.onsuccess = () => { db.close(); resolve(count.result); };
        count.onerror = () => { db.close(); reject(count.error); };
    };
})"""


def kept_takes(page: Any) -> int:
    """How many unposted takes the recorder keeps in this browser (0 or 1)."""
    return int(page.evaluate(_KEPT_TAKES))


def wait_for_kept_takes(page: Any, count: int) -> None:
    page.wait_for_function(f"async () => (await ({_KEPT_TAKES})()) === {count}")


def touch_drag(page: Any, selector: str, *, steps: int = 16) -> None:
    """One finger dragged across an element, as real touch events (CDP), so the browser decides
    between drawing and scrolling the page as it would on a phone."""
    box = page.locator(selector).bounding_box()
    assert box is not None
    cdp = page.context.new_cdp_session(page)
    # Upwards: the way a finger drags to scroll a page down, so a scroll would show in scrollY.
    x0, y0 = box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.8
    dx, dy = box["width"] * 0.5 / steps, -box["height"] * 0.6 / steps

    def touch(kind: str, points: list[dict[str, float]]) -> None:
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    touch("touchStart", [{"x": x0, "y": y0}])
    for i in range(1, steps + 1):
        touch("touchMove", [{"x": x0 + dx * i, "y": y0 + dy * i}])
        page.wait_for_timeout(16)
    # The finger comes to rest before it lifts: lifted in full flight, the browser starts a fling
    # and swallows the next tap (the one meant for Record or Stop) to stop it.
    page.wait_for_timeout(120)
    touch("touchMove", [{"x": x0 + dx * steps, "y": y0 + dy * steps}])
    touch("touchEnd", [])
    cdp.detach()


def in_viewport(page: Any, selector: str) -> bool:
    """Whether an element is shown and wholly inside the viewport, without scrolling."""
    box = page.locator(selector).bounding_box()
    size = page.viewport_size
    if box is None or size is None or not page.locator(selector).is_visible():
        return False
    return (
        box["x"] >= 0
        and box["y"] >= 0
        and box["x"] + box["width"] <= size["width"] + 0.5
        and box["y"] + box["height"] <= size["height"] + 0.5
    )
