"""The recorder's "Open a tape…", in headless Chromium against the live server: a 6x tape from
the original recorder (legacy metadata) opened with the file button, previewed, posted as the
very same bytes; a 1x tape dropped on the recorder; and every class of refusal said in plain
words, without losing the take already there."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tapes import services
from tapes.archive import inspect_archive
from tapes.models import Tape
from tapes.storage import storage_for
from tests.support.browser import save_screenshot
from tests.support.synth import SynthTape, legacy_metadata, make_tape
from tests.tapes.archive import badzips
from tests.web.conftest import record_take, wait_for_ink
from web.words import OPEN_REFUSALS

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}

# The original recorder's export: frames at 6x, metadata in the legacy shape, no piece.
LEGACY = legacy_metadata(width=64, height=48, stored_scale=6, frames=30, total_ms=500.0)


def legacy_6x(path: Path) -> SynthTape:
    return make_tape(
        path,
        frames=30,
        width=64,
        height=48,
        scale=6,
        durations_ms=[500 / 30] * 30,
        pattern="shapes",
        metadata_overrides=LEGACY,
    )


# A checksum of what the take's canvas shows.
_CANVAS_SUM = """() => {
    const c = document.getElementById('take');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let sum = 0;
    for (let i = 0; i < d.length; i += 4) sum = (sum * 31 + d[i] + d[i + 1] * 7 + d[i + 2]) | 0;
    return sum;
}"""


def open_file(page: Any, path: Path) -> None:
    page.locator("#recorder[data-ready=true]").wait_for()
    page.locator("#open-input").set_input_files(str(path))


def refusal(page: Any) -> dict[str, str]:
    notice = page.locator("#open-notice:not([data-code=''])")
    notice.wait_for()
    return {"code": notice.get_attribute("data-code") or "", "text": notice.inner_text()}


def test_a_6x_tape_from_the_original_recorder_opens_previews_and_posts_as_is(
    page: Any, live_server: Any, local_storage: Path, tmp_path: Path
) -> None:
    tape = legacy_6x(tmp_path / "original-export.zip")
    page.goto(live_server.url + "/")
    label = page.get_by_text("Open a tape…")
    assert label.is_visible()
    save_screenshot(page, "recorder-open-button")
    assert page.locator("#open-input").get_attribute("accept") == ".zip,application/zip"
    open_file(page, tape.path)

    page.locator("#recorder[data-state=recorded][data-opened=true]").wait_for()
    summary = page.locator("#take-summary").inner_text()
    size_mb = f"{tape.path.stat().st_size / (1024 * 1024):.1f} MB to upload"
    size_kb = f"{round(tape.path.stat().st_size / 1024)} KB to upload"
    assert size_mb in summary or size_kb in summary, summary
    assert "0.5 s" in summary and "30 frames" in summary
    assert "64\u00d748 at 1x" in summary and "stored at 6x" in summary
    # The preview plays the stored 6x frames at their own size, scaled down to fit.
    wait_for_ink(page, "#take", 1000)
    canvas = page.evaluate(
        """() => { const c = document.getElementById('take');
                   return {w: c.width, h: c.height, shown: c.getBoundingClientRect().width}; }"""
    )
    assert (canvas["w"], canvas["h"]) == (384, 288)
    assert canvas["shown"] <= 1280
    # It plays: the shapes move from frame to frame.
    first = page.evaluate(_CANVAS_SUM)
    page.wait_for_function(f"(first) => ({_CANVAS_SUM})() !== first", arg=first)
    save_screenshot(page, "recorder-opened-tape")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download ZIP").click()
    assert download.value.suggested_filename == "original-export.zip"
    saved = tmp_path / "downloaded.zip"
    download.value.save_as(saved)
    assert saved.read_bytes() == tape.path.read_bytes()

    page.get_by_role("button", name="POST").click()
    page.locator("#posted").wait_for()
    code = page.locator("#posted-link").inner_text().removeprefix("!")
    row = Tape.objects.get(code=code)
    row = services.tape_zip_take(tape=row)  # the encode job's first step
    stored = storage_for(row.bucket).open(row.zip_key, "rb").read()
    assert hashlib.sha256(stored).digest() == hashlib.sha256(tape.path.read_bytes()).digest()
    assert row.metadata == tape.metadata  # the legacy metadata as it was read
    assert row.piece == "tape"
    # No worker: the server's own reader, on the stored file, recovers the 1x drawing.
    (tmp_path / "stored.zip").write_bytes(stored)
    info = inspect_archive(tmp_path / "stored.zip")
    assert (info.scale, info.width, info.height, info.metadata_shape) == (6, 64, 48, "legacy")


def test_the_opened_tape_on_a_phone(browser: Any, live_server: Any, tmp_path: Path) -> None:
    tape = legacy_6x(tmp_path / "original-export.zip")
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.goto(live_server.url + "/")
        save_screenshot(page, "recorder-open-button-phone")
        open_file(page, tape.path)
        page.locator("#recorder[data-state=recorded][data-opened=true]").wait_for()
        wait_for_ink(page, "#take", 1000)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
        save_screenshot(page, "recorder-opened-tape-phone")
        open_file(page, _bad(tmp_path, badzips.timing_too_short))
        assert refusal(page)["code"] == "validation_timing_mismatch"
        assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
        save_screenshot(page, "recorder-open-refused-phone")
    finally:
        context.close()


def test_a_long_file_name_stays_inside_the_take_panel(
    page: Any, live_server: Any, tmp_path: Path
) -> None:
    """Exported names are long (piece, date, time); the narrow panel beside the canvas wraps them
    rather than spilling over the page."""
    name = "orbits_2026_12_05_21_30_00_123_from_the_old_laptop_final_final.zip"
    tape = legacy_6x(tmp_path / name)
    page.goto(live_server.url + "/")
    open_file(page, tape.path)
    page.locator("#recorder[data-state=recorded][data-opened=true]").wait_for()
    summary = page.locator("#take-summary")
    assert summary.inner_text().startswith(f"Opened {name}")
    fits = summary.evaluate(
        """(el) => { const panel = el.closest('.take-panel').getBoundingClientRect();
                    const box = el.getBoundingClientRect();
                    return {inside: el.scrollWidth <= el.clientWidth + 1
                                    && box.right <= panel.right + 0.5}; }"""
    )
    assert fits["inside"], fits
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 1280
    save_screenshot(page, "recorder-opened-long-name")


_DROP = """async ([name, b64]) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const data = new DataTransfer();
    data.items.add(new File([bytes], name, { type: 'application/zip' }));
    const target = document.getElementById('paper');
    const fire = (type) => target.dispatchEvent(
        new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: data }));
    fire('dragenter');
    fire('dragover');
    const during = document.getElementById('recorder').dataset.drop;
    const shown = getComputedStyle(document.getElementById('recorder'), '::after').content;
    await window.tapesiteShot?.();
    fire('drop');
    return { during, shown, after: document.getElementById('recorder').dataset.drop || null };
}"""


def test_a_1x_tape_dropped_on_the_recorder_opens(
    page: Any, live_server: Any, tmp_path: Path
) -> None:
    tape = make_tape(tmp_path / "one-x.zip", frames=8, width=32, height=24, scale=1)
    page.goto(live_server.url + "/")
    page.locator("#recorder[data-ready=true]").wait_for()
    payload = base64.b64encode(tape.path.read_bytes()).decode()
    # The drop target as a person sees it while dragging: the page pauses mid-drag for a picture.
    page.expose_function("tapesiteShot", lambda: str(save_screenshot(page, "recorder-drop-target")))
    dropped = page.evaluate(_DROP, ["one-x.zip", payload])
    assert dropped["during"] == "ready"
    assert "Drop the tape ZIP" in dropped["shown"]
    assert dropped["after"] is None
    page.locator("#recorder[data-state=recorded][data-opened=true]").wait_for()
    summary = page.locator("#take-summary").inner_text()
    assert "8 frames" in summary and "32\u00d724 at 1x" in summary and "stored at 1x" in summary
    assert "KB to upload" in summary
    wait_for_ink(page, "#take", 50)


def _bad(directory: Path, build: Callable[[Path], Path], name: str | None = None) -> Path:
    folder = directory / (name or build.__name__)
    folder.mkdir(exist_ok=True)
    return build(folder)


def _too_large(directory: Path) -> Path:
    path = directory / "big.zip"
    path.write_bytes(b"PK\x03\x04" + bytes(3 * 1024 * 1024))
    return path


# One archive per class of refusal (the parity test runs the whole corpus through the checker).
REFUSALS: list[tuple[str, Callable[[Path], Path]]] = [
    ("validation_not_zip", badzips.text_file),
    ("validation_corrupt", badzips.bad_crc),
    ("validation_encrypted", badzips.encrypted_frame),
    ("validation_unsafe_path", badzips.dot_dot),
    ("validation_link", badzips.symlink_entry),
    ("validation_duplicate_entry", badzips.duplicate_frame),
    ("validation_too_many_entries", badzips.twenty_thousand_and_one),
    ("validation_uncompressed_too_large", badzips.frame_larger_than_any_png),
    ("validation_compression_ratio", badzips.ten_megabytes_of_zeros),
    ("validation_no_frames", badzips.json_only),
    ("validation_too_many_frames", badzips.three_thousand_six_hundred_and_one),
    ("validation_too_long", badzips.sixty_three_seconds),
    ("validation_dimensions", badzips.too_wide),
    ("validation_timing_missing", badzips.no_timing),
    ("validation_timing_malformed", badzips.timing_not_json),
    ("validation_metadata_missing", badzips.no_metadata),
    ("validation_metadata_malformed", badzips.metadata_scale_text),
    ("validation_timing_mismatch", badzips.timing_too_short),
    ("validation_duration_invalid", badzips.duration_nan),
    ("validation_frame_not_png", badzips.jpeg_frame),
    ("validation_frame_size_mismatch", badzips.odd_frame_out),
    ("validation_frame_names", badzips.gap_in_frames),
    ("validation_corrupt", badzips.garbage_first_frame),
    ("validation_dimensions", badzips.unverified_scale_too_big),
]


def test_every_class_of_refusal_is_said_plainly_and_the_take_stays(
    page: Any, live_server: Any, tmp_path: Path, settings: Any
) -> None:
    settings.TAPES_UPLOAD_MAX_BYTES = 2 * 1024 * 1024
    page.goto(live_server.url + "/")
    take = record_take(page, 0.6)
    wait_for_ink(page, "#take", 0)

    seen: dict[str, str] = {}
    cases = [*REFUSALS, ("validation_archive_too_large", _too_large)]
    for index, (code, build) in enumerate(cases):
        path = _bad(tmp_path, build, f"{index}-{build.__name__}")
        open_file(page, path)
        said = refusal(page)
        assert said["code"] == code, (build.__name__, said)
        assert said["text"].startswith(f"{path.name} cannot be opened. {OPEN_REFUSALS[code]}"), said
        seen[code] = said["text"]
        # Nothing of the take is lost: still recorded, unopened, the same length, no question.
        state = page.evaluate("() => ({...document.getElementById('recorder').dataset})")
        assert state["state"] == "recorded" and state["opened"] == "false", state
        assert float(state["takeMs"]) == take["ms"]
        if index == 0:
            save_screenshot(page, "recorder-open-refused")
        page.evaluate("() => { document.getElementById('open-notice').dataset.code = ''; }")
    assert set(seen) == set(OPEN_REFUSALS)
    # Too large is refused from the file's size alone, with the size and the limit.
    assert "It is 3.0 MB; the limit is 2.0 MB." in seen["validation_archive_too_large"]


def test_a_good_tape_replacing_an_unposted_take_asks_first(
    page: Any, live_server: Any, tmp_path: Path
) -> None:
    tape = make_tape(tmp_path / "one-x.zip", frames=4, width=32, height=24, scale=1)
    page.goto(live_server.url + "/")
    take = record_take(page, 0.6)

    open_file(page, tape.path)
    page.locator("#discard-dialog[open]").wait_for()
    page.locator("#discard-keep").click()
    state = page.evaluate("() => ({...document.getElementById('recorder').dataset})")
    assert state["opened"] == "false" and float(state["takeMs"]) == take["ms"]

    open_file(page, tape.path)
    page.locator("#discard-dialog[open]").wait_for()
    page.locator("#discard-confirm").click()
    page.locator("#recorder[data-opened=true]").wait_for()
    assert json.loads(page.locator("#recorder-config").inner_text())["archiveLimits"]
