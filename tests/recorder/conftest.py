"""Helpers for the recorder library's browser tests (static/tapes/): a page on the live server's
origin with the library imported, and the take's ZIP brought back to Python."""

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
