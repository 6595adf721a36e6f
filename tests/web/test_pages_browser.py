"""The pages in headless Chromium: the 404, the code box, the grids, a phone, the keyboard."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tapes.models import TapeStatus
from tests.support.browser import save_screenshot
from tests.support.synth import make_tape as make_synth_tape
from tests.support.worker import tapes_worker, worker_log
from tests.web.conftest import canvas_ink, scribble, sign_in, wait_for_ink

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}


def overflows(page: Any) -> bool:
    return bool(page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth + 1"))


def test_an_unknown_code_gets_a_friendly_404_with_a_code_box(
    page: Any, live_server: Any, make_tape: Any
) -> None:
    tape = make_tape(media=True)
    response = page.goto(live_server.url + "/t/nope")
    assert response is not None and response.status == 404
    assert page.get_by_role("heading", level=1).inner_text() == "No tape has the code !nope"
    save_screenshot(page, "404-tape")
    box = page.get_by_label("Open a tape by code").last
    box.fill(f"!{tape.code}")
    box.press("Enter")
    page.wait_for_url(f"**/t/{tape.code}")
    assert page.locator("h1").inner_text() == f"!{tape.code}"


def test_the_code_box_and_home_hash_open_tapes(page: Any, live_server: Any, make_tape: Any) -> None:
    tape = make_tape()
    page.goto(live_server.url + "/tapes")
    for typed in (tape.code, f"#{tape.code}", f"!{tape.code}"):
        box = page.get_by_label("Open a tape by code")
        box.fill(typed)
        box.press("Enter")
        page.wait_for_url(f"**/t/{tape.code}")
        page.go_back()
    box = page.get_by_label("Open a tape by code")
    box.fill("not a code!")
    box.press("Enter")
    assert page.evaluate("() => document.querySelector('#nav-code').validationMessage")
    assert page.url.endswith("/tapes")
    page.goto(f"{live_server.url}/#{tape.code}")
    page.wait_for_url(f"**/t/{tape.code}")
    page.goto(f"{live_server.url}/#!{tape.code}")
    page.wait_for_url(f"**/t/{tape.code}")


def test_gallery_previews_on_hover_and_focus_and_scrolls_on(
    page: Any, live_server: Any, make_tape: Any
) -> None:
    tapes = [make_tape(media=True, ago=i) for i in range(30)]
    page.goto(live_server.url + "/tapes")
    first = page.locator("a.card-link").first
    img = first.locator("img")
    still = img.get_attribute("src")
    assert still and still.endswith("/media/thumbnail")
    first.hover()
    assert img.get_attribute("src", timeout=2000).endswith("/media/preview")
    page.mouse.move(1, 1)
    assert img.get_attribute("src") == still
    first.focus()
    assert img.get_attribute("src").endswith("/media/preview")
    save_screenshot(page, "gallery-grid")
    # Endless scroll: the rest arrives when the end of the grid comes into view.
    assert page.locator("a.card-link").count() == 24
    page.locator("a.more").scroll_into_view_if_needed()
    page.wait_for_function("() => document.querySelectorAll('a.card-link').length === 30")
    codes = page.locator(".card-code").all_inner_texts()
    assert codes == [f"!{t.code}" for t in tapes]


def test_reduced_motion_keeps_previews_still(
    browser: Any, live_server: Any, make_tape: Any
) -> None:
    make_tape(media=True)
    context = browser.new_context(reduced_motion="reduce")
    try:
        page = context.new_page()
        page.goto(live_server.url + "/tapes")
        link = page.locator("a.card-link").first
        still = link.locator("img").get_attribute("src")
        link.hover()
        link.focus()
        page.wait_for_timeout(200)
        assert link.locator("img").get_attribute("src") == still
    finally:
        context.close()


def test_the_recorder_at_phone_width_with_touch(
    browser: Any, live_server: Any, make_tape: Any
) -> None:
    tape = make_tape(media=True)
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        page.goto(live_server.url + "/")
        page.locator("#recorder[data-ready=true]").wait_for()
        assert not overflows(page)
        canvas = page.locator("#paper").bounding_box()
        assert canvas and canvas["x"] >= 0 and canvas["x"] + canvas["width"] <= PHONE["width"]
        for dx in range(0, 60, 6):
            page.touchscreen.tap(canvas["x"] + 40 + dx, canvas["y"] + 60)
        assert canvas_ink(page, "#paper") > 0, "a finger did not draw"
        record = page.get_by_role("button", name="Record")
        assert record.is_visible()
        save_screenshot(page, "phone-recorder")
        for path in (f"/t/{tape.code}", "/tapes", "/t/nope"):
            page.goto(live_server.url + path)
            assert not overflows(page), path
        page.goto(live_server.url + f"/t/{tape.code}")
        save_screenshot(page, "phone-tape")
    finally:
        context.close()


def test_the_recorder_is_keyboard_accessible(page: Any, live_server: Any) -> None:
    page.goto(live_server.url + "/")
    page.locator("#recorder[data-ready=true]").wait_for()
    # Every control has a name a screen reader can say.
    page.get_by_label("red").check()
    page.get_by_label("8 pixels").check()
    assert page.get_by_label("Open a tape by code").count() == 1
    assert page.get_by_role("button", name="Undo").is_disabled()
    # Something on the paper, so the take is worth posting (a blank one cannot be posted).
    scribble(page, 0.2)
    page.keyboard.press("Control+Z")
    assert canvas_ink(page, "#paper") == 0, "Ctrl+Z did not undo the stroke"
    scribble(page, 0.2)
    # Tab until Record has focus, then check the focus ring is visible.
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.id") == "record":
            break
    else:
        pytest.fail("Record cannot be reached with the keyboard")
    outline = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, s.outlineWidth]; }"
    )
    assert outline[0] != "none" and outline[1] != "0px", outline
    page.keyboard.press("Enter")
    page.locator("#recorder[data-state=recording]").wait_for()
    # Focus moved to Stop, so the same key ends the take.
    assert page.evaluate("() => document.activeElement.id") == "stop"
    page.wait_for_timeout(300)
    page.keyboard.press("Enter")
    page.locator("#recorder[data-state=recorded]").wait_for()
    assert page.evaluate("() => document.activeElement.id") == "post"


def test_a_failed_tape_explains_itself_and_its_owner_retries_it(
    page: Any, live_server: Any, make_tape: Any, user: Any, local_storage: Path, tmp_path: Path
) -> None:
    synth = make_synth_tape(tmp_path / "t.zip", frames=30, width=64, height=48, scale=1, seed=5)
    tape = make_tape(
        user=user,
        status=TapeStatus.FAILED,
        failure_code="encode_crashed",
        failure_message="Encoding crashed: boom",
        zip_content=synth.path.read_bytes(),
        # Its archive passed the check (the encode job recorded the frames), then it crashed.
        frames=30,
        duration_ms=None,
        width=64,
        height=48,
    )
    sign_in(page, live_server, user)
    page.goto(f"{live_server.url}/t/{tape.code}")
    failure = page.locator("#failure")
    assert failure.is_visible()
    assert "The video maker crashed on this tape." in failure.inner_text()
    assert "boom" not in failure.inner_text()  # the worker's words stay backstage
    # The recording itself still plays.
    page.locator("#tape[data-zip-playback=playing]").wait_for()
    save_screenshot(page, "tape-failed")
    # A refused retry says why, through the shared module's ApiError: the API's own message, or
    # the status when the answer is not the API's JSON.
    answers = [
        {"status": 409, "json": {"error": {"code": "busy", "message": "Not right now."}}},
        {"status": 502, "body": "<h1>Bad gateway</h1>", "content_type": "text/html"},
    ]
    page.route("**/retry", lambda route: route.fulfill(**answers.pop(0)))
    retry = page.get_by_role("button", name="Try again")
    words = page.locator("#failure-words")
    retry.click()
    expect(words).to_have_text("Not right now.")
    retry.click()
    expect(words).to_have_text("The site answered 502.")
    assert failure.is_visible() and page.locator("#processing").is_hidden()
    page.unroute("**/retry")
    retry.click()
    page.locator("#processing").wait_for()
    assert failure.is_hidden()
    with tapes_worker(local_storage):
        try:
            page.wait_for_function(
                """() => { const v = document.getElementById('tape-video');
                           return v && !v.hidden && v.readyState >= 2; }""",
                timeout=120_000,
            )
        except Exception:
            pytest.fail(f"the retried tape never played; worker said:\n{worker_log(local_storage)}")
    tape.refresh_from_db()
    assert tape.status == TapeStatus.READY
    # Someone else sees the reason of a failed tape but no retry.
    other = make_tape(status=TapeStatus.FAILED, failure_code="validation_corrupt")
    page.goto(f"{live_server.url}/t/{other.code}")
    assert "damaged or not a tape" in page.locator("#failure").inner_text()
    assert page.get_by_role("button", name="Try again").count() == 0


def test_a_video_that_will_not_load_falls_back_to_the_recording(
    tab: Any, live_server: Any, make_tape: Any, tmp_path: Path
) -> None:
    page = tab
    # Ready, but its MP4 is not in storage (make_tape names it without storing it): the media
    # endpoint answers 404 and the page must not be left blank.
    synth = make_synth_tape(tmp_path / "t.zip", frames=20, width=64, height=48, scale=1, seed=7)
    tape = make_tape(
        media=True,
        zip_content=synth.path.read_bytes(),
        width=64,
        height=48,
        frames=synth.frames,
        duration_ms=round(synth.total_duration_ms),
    )
    page.goto(f"{live_server.url}/t/{tape.code}")
    page.locator("#tape[data-zip-playback=playing]").wait_for(timeout=20_000)
    assert page.locator("#tape").get_attribute("data-video-error") == "1"
    assert page.locator("#tape-video").count() == 0
    frames = page.locator("#tape-frames")
    assert (frames.get_attribute("width"), frames.get_attribute("height")) == ("64", "48")
    wait_for_ink(page, "#tape-frames", 0)
    save_screenshot(page, f"tape-video-fallback-{tab.size_name}")
    # It asks the API for fresh links and tries the video again, a bounded number of times.
    page.wait_for_function(
        "() => Number(document.getElementById('tape').dataset.videoError) >= 2", timeout=20_000
    )


def test_the_shared_module_reads_the_api_error_shape(page: Any, live_server: Any) -> None:
    """static/web/site.js, which every page script imports: what a failed call throws."""
    page.goto(live_server.url + "/")
    page.route("**/offline", lambda route: route.abort("connectionreset"))
    page.route("**/gateway", lambda route: route.fulfill(status=502, body="<h1>Bad</h1>"))
    seen = page.evaluate(
        """async () => {
            const site = await import('/static/web/site.js');
            const failure = async (call) => {
                try { await call; return null; } catch (e) {
                    return {name: e.constructor.name, code: e.code, message: e.message,
                            status: e.status};
                }
            };
            return {
                missing: await failure(site.api('/api/tapes/nope')),
                offline: await failure(site.api('/offline', {method: 'POST', body: {}})),
                gateway: await failure(site.api('/gateway')),
                csrf: site.csrfToken() === document.cookie.match(/csrftoken=([^;]+)/)[1],
                words: [site.formatSeconds(2500), site.formatBytes(100),
                        site.formatLimit(64), site.formatLimit(100 * 1024 * 1024)],
            };
        }"""
    )
    assert seen["missing"]["name"] == "ApiError"
    assert (seen["missing"]["code"], seen["missing"]["status"]) == ("not_found", 404)
    assert seen["missing"]["message"] and seen["missing"]["message"] != "not_found"
    assert (seen["offline"]["code"], seen["offline"]["status"]) == ("network_error", 0)
    assert seen["gateway"] == {
        "name": "ApiError",
        "code": "http_502",
        "message": "The site answered 502.",
        "status": 502,
    }
    assert seen["csrf"] is True
    assert seen["words"] == ["2.5", "1 KB", "64 bytes", "100 MB"]
