"""Helpers for the recorder library's browser tests (static/tapes/): a page on the live server's
origin with the library imported, the take's ZIP brought back to Python, storage pointed at a
listener that hangs, and a look at the <tape-recorder> element's layout in each state."""

from __future__ import annotations

import base64
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.test.testcases import LiveServerThread
from PIL import Image

from tests.support.browser import save_screenshot
from tests.support.listeners import Listener, settle

# A page of the live server's own origin with no script of its own: the tests import the library
# into it, as a page of the site would.
BLANK_PATH = "/robots.txt"

IMPORT = """async () => {
    window.Tapes = await import('/static/tapes/tapes.js');
    return Tapes.VERSION;
}"""

# The take's ZIP (a Blob) as base64, for the test to read.
ZIP_OF = """async (name) => {
    const bytes = new Uint8Array(await window[name].zip.arrayBuffer());
    let text = '';
    for (let i = 0; i < bytes.length; i += 0x8000) {
        text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    }
    return btoa(text);
}"""


def open_library(page: Any, live_server: Any) -> str:
    """Open a blank page of the live server and import the library; returns its VERSION."""
    page.goto(live_server.url + BLANK_PATH)
    return str(page.evaluate(IMPORT))


def save_zip(page: Any, name: str, target: Path) -> Path:
    """Write the ZIP of ``window[name]`` (what take.stop() resolved to) to ``target``."""
    target.write_bytes(base64.b64decode(page.evaluate(ZIP_OF, name)))
    return target


def frames_of(path: Path) -> list[Image.Image]:
    """Every frame of a tape ZIP, in order, as RGB pictures."""
    with zipfile.ZipFile(path) as archive:
        names = sorted(n for n in archive.namelist() if n.startswith("frame"))
        return [Image.open(io.BytesIO(archive.read(n))).convert("RGB") for n in names]


class _AsIs(WSGIHandler):
    """The live server's "static handler" that handles nothing: every request, /static/ too,
    goes to the application (and so through whitenoise's middleware)."""

    def __init__(self, application: WSGIHandler) -> None:
        self.application = application

    def __call__(self, environ: Any, start_response: Any) -> Any:
        return self.application(environ, start_response)


@pytest.fixture
def whitenoise_server(live_server: Any) -> Iterator[str]:
    """The site served as in production: /static/ answered by whitenoise's middleware.
    (``live_server`` answers /static/ with Django's own handler before any middleware, which
    sends no CORS header, so a cross-origin import of the library cannot be tested through it.)
    Depends on ``live_server`` for its database setup. Yields the base URL."""
    thread = LiveServerThread("localhost", static_handler=_AsIs)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    yield f"http://localhost:{thread.port}"
    thread.terminate()


def storages_at(storages: dict[str, Any], endpoint: str) -> dict[str, Any]:
    """The same storages with every S3 one pointed at ``endpoint`` (a listener that hangs, or
    nothing at all): the upload form the site hands out then sends the ZIP there."""
    moved = {}
    for alias, conf in storages.items():
        options = conf.get("OPTIONS", {})
        if "endpoint_url" in options:
            conf = {**conf, "OPTIONS": {**options, "endpoint_url": endpoint}}
        moved[alias] = conf
    return moved


def wait_for_connection(hung: Listener, seconds: float = 5.0) -> None:
    """Wait (bounded) until the browser has connected to ``hung``; fail if it never does."""
    for _ in range(int(seconds / 0.1)):
        if hung.connections:
            return
        settle(0.1)
    assert hung.connections >= 1, "the upload never reached the hanging storage"


# Where each part of the element is shown: its buttons (text, height), anything outside its box,
# and whether the page scrolls sideways.
LAYOUT = """() => {
    const host = document.querySelector('tape-recorder');
    const box = host.getBoundingClientRect();
    const shown = [...host.shadowRoot.querySelectorAll('.deck, .deck *')]
        .filter((el) => el.getClientRects().length > 0);
    const buttons = shown.filter((el) => el.tagName === 'BUTTON')
        .map((el) => [el.innerText, Math.round(el.getBoundingClientRect().height)]);
    const outside = shown.filter((el) => {
        const r = el.getBoundingClientRect();
        return r.left < box.left - 0.5 || r.right > box.right + 0.5;
    }).map((el) => el.className || el.tagName);
    const sideways = document.documentElement.scrollWidth > window.innerWidth;
    return {buttons, outside, sideways};
}"""


def look(page: Any, name: str, *, buttons: bool = True) -> list[list[Any]]:
    """Screenshot the element's state, and check what a person would see wrong in it; returns
    the buttons shown (text, height)."""
    save_screenshot(page, name)
    layout = page.evaluate(LAYOUT)
    assert bool(layout["buttons"]) == buttons, f"{name}: buttons {layout['buttons']}"
    short = [(text, height) for text, height in layout["buttons"] if height < 44]
    assert short == [], f"{name}: buttons under 44 px: {short}"
    assert layout["outside"] == [], f"{name}: outside the element: {layout['outside']}"
    assert not layout["sideways"], f"{name}: the page scrolls sideways"
    return list(layout["buttons"])
