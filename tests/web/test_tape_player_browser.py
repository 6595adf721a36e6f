"""The tape page's own player in headless Chromium: it never opens a recording the site has not
checked, and it refuses a crafted ZIP from its central directory, before inflating it, with a
clear message (static/web/tapezip.js)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any

import pytest

from tapes.models import Tape, TapeStatus
from tests.support.browser import CspWatch, save_screenshot
from tests.support.synth import make_tape as make_synth_tape
from tests.web.conftest import wait_for_ink

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}
MiB = 1024 * 1024
TIMING = b'[{"filename": "frame000000.png", "duration": 100}]'


def raw_zip(entries: list[tuple[str, bytes, int, int]]) -> bytes:
    """A ZIP written by hand, so its directory may say anything: (name, stored bytes, method,
    declared uncompressed size) per entry."""
    body = b""
    directory = b""
    for name, data, method, declared in entries:
        encoded = name.encode()
        offset = len(body)
        crc = zlib.crc32(data) if method == 0 else 0
        # version needed, flags, method, time, date, crc, compressed and declared sizes
        common = struct.pack("<HHHHHIII", 20, 0, method, 0, 0, crc, len(data), declared)
        local = struct.pack("<I", 0x04034B50) + common + struct.pack("<HH", len(encoded), 0)
        body += local + encoded + data
        directory += (
            struct.pack("<IH", 0x02014B50, 20)
            + common
            + struct.pack("<HHHHHII", len(encoded), 0, 0, 0, 0, 0, offset)
            + encoded
        )
    end = struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(directory), len(body), 0
    )
    return body + directory + end


def deflated(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush()


def lying_entry() -> bytes:
    """A frame that declares 1 KiB and inflates to 64 MiB (its directory lies)."""
    bomb = deflated(bytes(64 * MiB))
    return raw_zip([("timing.json", TIMING, 0, len(TIMING)), ("frame000000.png", bomb, 8, 1024)])


def huge_entry() -> bytes:
    """A frame that declares 3 GB: refused from the directory alone."""
    return raw_zip(
        [("timing.json", TIMING, 0, len(TIMING)), ("frame000000.png", b"\x03\x00", 8, 3 * 10**9)]
    )


def too_much_in_total() -> bytes:
    """Twenty frames of 15 MiB each (as declared), 300 MiB in all: past the total bound."""
    entries = [(f"frame{i:06d}.png", b"\x00" * (100 * 1024), 8, 15 * MiB) for i in range(20)]
    return raw_zip([("timing.json", TIMING, 0, len(TIMING)), *entries])


def too_many_entries() -> bytes:
    """More entries than the archive reader accepts (the test lowers the limit to 40)."""
    entries = [(f"frame{i:06d}.png", b"x", 0, 1) for i in range(60)]
    return raw_zip([("timing.json", TIMING, 0, len(TIMING)), *entries])


def checked_tape(make_tape: Any, content: bytes, **fields: Any) -> Tape:
    """A tape whose archive the site checked (frames recorded), still becoming a video."""
    values: dict[str, Any] = {
        "status": TapeStatus.PROCESSING,
        "progress": 40,
        "frames": 1,
        "width": 64,
        "height": 48,
        "zip_content": content,
        **fields,
    }
    return make_tape(**values)


@pytest.mark.parametrize(
    ("crafted", "refusal"),
    [
        (lying_entry, "entry_lies"),
        (huge_entry, "entry_too_large"),
        (too_much_in_total, "too_large"),
        (too_many_entries, "too_many_entries"),
    ],
)
def test_a_crafted_zip_is_refused_with_a_clear_message(
    page: Any, live_server: Any, make_tape: Any, settings: Any, crafted: Any, refusal: str
) -> None:
    settings.TAPES_ARCHIVE_LIMITS = {"max_entries": 40}
    tape = checked_tape(make_tape, crafted())
    csp = CspWatch(page)
    page.goto(f"{live_server.url}/t/{tape.code}")
    article = page.locator("#tape[data-zip-playback=refused]")
    article.wait_for(timeout=30_000)
    assert article.get_attribute("data-zip-refusal") == refusal
    note = page.locator("#screen-note")
    assert note.is_visible()
    assert note.inner_text() == "This recording is too large or damaged to play in the browser."
    # The tab is alive and well, and still waits for the video.
    assert page.evaluate("() => 6 * 7") == 42
    assert page.locator("#processing").is_visible()
    assert page.locator("#screen-controls").is_hidden()
    assert csp.violations() == []
    if refusal == "entry_lies":
        save_screenshot(page, "tape-refused-zip-desktop")


def test_the_refused_and_unchecked_states_at_phone_width(
    browser: Any, live_server: Any, make_tape: Any
) -> None:
    tape = checked_tape(make_tape, huge_entry())
    unchecked = checked_tape(make_tape, huge_entry(), status=TapeStatus.QUEUED, frames=None)
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/t/{tape.code}")
        page.locator("#tape[data-zip-playback=refused]").wait_for(timeout=15_000)
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
        box = page.locator("#screen-note").bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        save_screenshot(page, "tape-refused-zip-phone")
        page.goto(f"{live_server.url}/t/{unchecked.code}")
        page.locator("#tape[data-zip-playback=waiting]").wait_for()
        assert page.locator("#screen-note").is_visible()
        save_screenshot(page, "tape-processing-unchecked-phone")
    finally:
        context.close()


def test_an_unchecked_recording_is_not_opened_until_the_site_checked_it(
    page: Any, live_server: Any, make_tape: Any, tmp_path: Path
) -> None:
    synth = make_synth_tape(tmp_path / "t.zip", frames=12, width=64, height=48, scale=1, seed=3)
    tape = make_tape(
        status=TapeStatus.QUEUED,
        progress=0,
        zip_content=synth.path.read_bytes(),
        frames=None,
        duration_ms=None,
        width=None,
        height=None,
    )
    fetched: list[str] = []
    page.on("request", lambda r: fetched.append(r.url) if r.url.endswith("/media/zip") else None)
    page.goto(f"{live_server.url}/t/{tape.code}")
    page.locator("#tape[data-zip-playback=waiting]").wait_for()
    note = page.locator("#screen-note")
    assert note.inner_text() == "The recording plays here once the site has checked it."
    assert page.locator("#status-note").inner_text() == "The video will play here when it is ready."
    assert page.locator("#screen-controls").is_hidden()  # nothing to play yet
    save_screenshot(page, "tape-processing-unchecked-desktop")
    # Several polls go by: still nothing fetched.
    page.wait_for_function(
        """() => performance.getEntriesByType('resource')
                 .filter((e) => e.name.includes('/api/tapes/')).length >= 2""",
        timeout=10_000,
    )
    assert fetched == []
    # The encode job's check passes (it records the frames): the page plays the recording.
    Tape.objects.filter(pk=tape.pk).update(frames=12, width=64, height=48, progress=5)
    page.locator("#tape[data-zip-playback=playing]").wait_for(timeout=15_000)
    assert page.locator("#tape").get_attribute("data-zip-frames") == "12"
    assert page.locator("#screen-note").is_hidden()
    assert page.locator("#screen-controls").is_visible()
    wait_for_ink(page, "#tape-frames", 0)
    assert len(fetched) == 1


def test_a_tape_that_failed_its_check_is_never_opened(
    page: Any, live_server: Any, make_tape: Any
) -> None:
    tape = make_tape(
        status=TapeStatus.FAILED,
        failure_code="validation_compression_ratio",
        zip_content=lying_entry(),
        frames=None,
        width=None,
        height=None,
    )
    fetched: list[str] = []
    page.on("request", lambda r: fetched.append(r.url) if r.url.endswith("/media/zip") else None)
    page.goto(f"{live_server.url}/t/{tape.code}")
    assert "damaged or not a tape" in page.locator("#failure").inner_text()
    page.locator("#tape[data-zip-playback=waiting]").wait_for()
    assert page.locator("#screen-note").inner_text() == "This recording cannot be played."
    page.wait_for_timeout(500)
    assert fetched == []
