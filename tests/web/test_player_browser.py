"""The tape's player in headless Chromium (static/web/player.js): it seeks, steps frame by frame
by the tape's own frame times, changes speed and loop, on the MP4 (from local storage, which
answers ranges, and from S3) and on the recording's frames while the video is being made; and it
works at phone size."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from PIL import Image

from tapes.models import Tape, TapeStatus
from tapes.storage import storage_for
from tests.support.browser import CspWatch, save_screenshot
from tests.support.encoded import Encoded, encode_synthetic
from tests.support.synth import PALETTE

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}
# Uneven on purpose: a step must follow the tape's own frame times, not a fixed rate.
DURATIONS = [200.0, 120.0, 300.0, 160.0, 240.0, 100.0, 280.0, 200.0]
FRAMES = len(DURATIONS)

# One encode for the whole module: eight solid colours, frame i is PALETTE[i].
_ENCODED: dict[str, Encoded] = {}


def flat_tape(tmp_path_factory: pytest.TempPathFactory) -> Encoded:
    if "flat" not in _ENCODED:
        _ENCODED["flat"] = encode_synthetic(
            tmp_path_factory.mktemp("flat"),
            frames=FRAMES,
            width=32,
            height=24,
            scale=1,
            seed=0,
            pattern="flat",
            durations_ms=DURATIONS,
        )
    return _ENCODED["flat"]


def colour_of(page: Any, selector: str) -> tuple[int, int, int]:
    """The colour in the middle of what the element shows, as painted on the screen (so a video
    from another origin is read too)."""
    picture = Image.open(io.BytesIO(page.locator(selector).screenshot())).convert("RGB")
    return picture.getpixel((picture.width // 2, picture.height // 2))  # type: ignore[return-value]


def near(colour: tuple[int, int, int], want: Any, tolerance: int = 40) -> bool:
    return all(abs(int(a) - int(b)) <= tolerance for a, b in zip(colour, want, strict=True))


def wait_for_colour(page: Any, selector: str, index: int) -> None:
    """Until the element shows frame index's colour (a seek paints a moment later)."""
    want = tuple(int(c) for c in PALETTE[index])
    seen: tuple[int, int, int] = (0, 0, 0)
    for _ in range(40):
        seen = colour_of(page, selector)
        if near(seen, want):
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"{selector} shows {seen}, not frame {index}'s {want}")


def mid(index: int) -> float:
    """The middle of frame index, in seconds, by the encoder's integer frame times."""
    start = sum(round(d) for d in DURATIONS[:index])
    return (start + round(DURATIONS[index]) / 2) / 1000


def wait_for_video(page: Any) -> None:
    page.wait_for_function(
        """() => { const v = document.getElementById('tape-video');
                   return v && !v.hidden && v.readyState >= 2; }""",
        timeout=30_000,
    )
    page.locator("#screen-controls").wait_for()


def video(page: Any) -> dict[str, Any]:
    return dict(
        page.evaluate(
            """() => { const v = document.getElementById('tape-video');
                       return {time: v.currentTime, paused: v.paused, rate: v.playbackRate,
                               loop: v.loop, seeking: v.seeking}; }"""
        )
    )


@pytest.mark.parametrize("backend", ["local", pytest.param("s3", marks=pytest.mark.s3)])
def test_the_scrub_bar_seeks_the_video_to_the_right_frame(
    backend: str,
    page: Any,
    live_server: Any,
    make_tape: Any,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> None:
    if backend == "s3":
        request.getfixturevalue("s3_storage")
    tape = make_tape(encoded=flat_tape(tmp_path_factory))
    statuses: list[int] = []
    page.on("response", lambda r: statuses.append(r.status) if "/media/mp4" in r.url else None)
    csp = CspWatch(page)
    page.goto(f"{live_server.url}/t/{tape.code}")
    wait_for_video(page)
    page.get_by_role("button", name="Pause").click()
    assert video(page)["paused"] is True
    # Into frame 5 (starts at 1020 ms, lasts 100 ms): the bar snaps to its middle.
    page.locator("[data-control=seek]").fill("1050")
    page.wait_for_function("() => !document.getElementById('tape-video').seeking")
    assert video(page)["time"] == pytest.approx(mid(5), abs=0.002)
    wait_for_colour(page, "#tape-video", 5)
    assert page.locator("[data-control=frame]").inner_text() == f"Frame 6/{FRAMES}"
    assert page.locator("[data-control=elapsed]").inner_text() == "0:01.0"
    # Back to the start, and the seek really moved the picture there.
    page.locator("[data-control=seek]").fill("0")
    page.wait_for_function("() => !document.getElementById('tape-video').seeking")
    assert video(page)["time"] == pytest.approx(mid(0), abs=0.002)
    wait_for_colour(page, "#tape-video", 0)
    if backend == "local":
        assert 206 in statuses, statuses  # the site itself answered the video's ranges
    assert csp.violations() == []


def test_keys_and_buttons_step_frame_by_frame_and_set_speed_and_loop(
    page: Any, live_server: Any, make_tape: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    tape = make_tape(encoded=flat_tape(tmp_path_factory))
    page.goto(f"{live_server.url}/t/{tape.code}")
    wait_for_video(page)
    player = page.locator("#player")
    player.focus()
    page.keyboard.press("Space")
    assert video(page)["paused"] is True
    page.keyboard.press("Home")
    wait_for_colour(page, "#tape-video", 0)
    for index in (1, 2, 3):
        page.keyboard.press("ArrowRight")
        assert video(page)["time"] == pytest.approx(mid(index), abs=0.002), index
        wait_for_colour(page, "#tape-video", index)
    page.keyboard.press("ArrowLeft")
    wait_for_colour(page, "#tape-video", 2)
    page.keyboard.press(".")
    wait_for_colour(page, "#tape-video", 3)
    page.keyboard.press(",")
    wait_for_colour(page, "#tape-video", 2)
    page.get_by_role("button", name="Next frame").click()
    wait_for_colour(page, "#tape-video", 3)
    page.get_by_role("button", name="Previous frame").click()
    page.get_by_role("button", name="Previous frame").click()
    wait_for_colour(page, "#tape-video", 1)
    assert video(page)["time"] == pytest.approx(mid(1), abs=0.002)
    # Looping, a step back from the first frame goes round to the last.
    page.keyboard.press("Home")
    player.focus()
    page.keyboard.press("ArrowLeft")
    wait_for_colour(page, "#tape-video", FRAMES - 1)

    page.get_by_label("Speed").select_option("2")
    assert video(page)["rate"] == 2
    page.get_by_label("Speed").select_option("0.25")
    assert video(page)["rate"] == 0.25
    loop = page.get_by_role("button", name="Loop")
    assert loop.get_attribute("aria-pressed") == "true" and video(page)["loop"] is True
    loop.click()
    assert loop.get_attribute("aria-pressed") == "false" and video(page)["loop"] is False
    # Without the loop, the last frame is as far as a step goes.
    player.focus()
    page.keyboard.press("End")
    page.keyboard.press("ArrowRight")
    wait_for_colour(page, "#tape-video", FRAMES - 1)
    # Space plays again, at the chosen speed.
    page.keyboard.press("Space")
    assert video(page)["paused"] is False and video(page)["rate"] == 0.25
    assert page.get_by_role("button", name="Pause").is_visible()
    # Every control is reached with Tab, with the site's focus ring.
    page.get_by_role("button", name="Pause").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.dataset.control") == "back"
    assert page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle") == "solid"
    save_screenshot(page, "player-keyboard-desktop")
    # Headless Chromium may grant full screen: the button is there because the API is.
    assert page.get_by_role("button", name="Full screen").is_visible() == page.evaluate(
        "() => document.fullscreenEnabled"
    )


def test_the_recording_steps_by_its_own_frames_while_the_video_is_made(
    page: Any, live_server: Any, make_tape: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    encoded = flat_tape(tmp_path_factory)
    tape = make_tape(
        status=TapeStatus.PROCESSING,
        progress=40,
        zip_content=encoded.zip,
        frames=encoded.frames,
        duration_ms=encoded.duration_ms,
        width=encoded.width,
        height=encoded.height,
    )
    page.goto(f"{live_server.url}/t/{tape.code}")
    page.locator("#tape[data-zip-playback=playing]").wait_for(timeout=15_000)
    assert page.locator("#player").get_attribute("data-source") == "frames"
    page.get_by_role("button", name="Pause").click()
    page.locator("#player").focus()
    page.keyboard.press("Home")
    wait_for_colour(page, "#tape-frames", 0)
    for index in (1, 2):
        page.keyboard.press("ArrowRight")
        wait_for_colour(page, "#tape-frames", index)
    page.keyboard.press("ArrowLeft")
    wait_for_colour(page, "#tape-frames", 1)
    page.locator("[data-control=seek]").fill("1050")
    wait_for_colour(page, "#tape-frames", 5)
    assert page.locator("[data-control=frame]").inner_text() == f"Frame 6/{FRAMES}"
    page.get_by_label("Speed").select_option("0.5")
    page.get_by_role("button", name="Loop").click()
    state = page.evaluate("() => ({paused: document.getElementById('player').dataset.paused})")
    assert state["paused"] == "true"
    save_screenshot(page, "player-recording-desktop")


def test_the_player_fits_a_phone_and_answers_taps(
    browser: Any, live_server: Any, make_tape: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    tape = make_tape(encoded=flat_tape(tmp_path_factory))
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/t/{tape.code}")
        wait_for_video(page)
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
        for name in ("Pause", "Previous frame", "Next frame", "Loop"):
            box = page.get_by_role("button", name=name).bounding_box()
            assert box and box["width"] >= 44 and box["height"] >= 44, name
            assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], name
        picture = page.locator("#tape-video").bounding_box()
        assert picture and picture["width"] <= PHONE["width"] - 2 * 16
        save_screenshot(page, "player-ready-phone")
        page.get_by_role("button", name="Pause").tap()
        assert video(page)["paused"] is True
        page.get_by_role("button", name="Play").tap()
        assert video(page)["paused"] is False
        page.get_by_role("button", name="Pause").tap()
        page.get_by_role("button", name="Next frame").tap()
        # A tap near the far end of the bar lands in the last frame.
        seek = page.locator("[data-control=seek]").bounding_box()
        assert seek
        page.touchscreen.tap(seek["x"] + seek["width"] - 4, seek["y"] + seek["height"] / 2)
        # The tap is handled, and the seek settles, in their own time on a busy machine: wait
        # for the video to get there (or the wait times out and the test fails).
        target = mid(FRAMES - 1)
        page.wait_for_function(
            """(target) => { const v = document.getElementById('tape-video');
                             return !v.seeking && Math.abs(v.currentTime - target) <= 0.002; }""",
            arg=target,
            timeout=10_000,
        )
        assert video(page)["time"] == pytest.approx(target, abs=0.002)
        wait_for_colour(page, "#tape-video", FRAMES - 1)
    finally:
        context.close()


def test_screenshots_of_the_player(
    browser: Any, page: Any, live_server: Any, make_tape: Any, tmp_path: Path
) -> None:
    """The player on a tape that looks like one (moving shapes), at desktop and phone sizes,
    with its pixels whole: the picture is a whole multiple of the drawing's size."""
    encoded = encode_synthetic(tmp_path, frames=90, width=128, height=96, scale=1, seed=4)
    tape = make_tape(encoded=encoded)
    page.goto(f"{live_server.url}/t/{tape.code}")
    wait_for_video(page)
    page.get_by_role("button", name="Pause").click()
    page.locator("[data-control=seek]").fill("700")
    box = page.locator("#tape-video").bounding_box()
    assert box and box["width"] % 128 == 0 and box["height"] % 96 == 0, box
    assert box["width"] / 128 == box["height"] / 96
    page.locator("#player").focus()
    save_screenshot(page, "player-ready-desktop")
    # As a phone's screen is: three device pixels to a CSS pixel.
    context = browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=3
    )
    try:
        phone = context.new_page()
        phone.goto(f"{live_server.url}/t/{tape.code}")
        wait_for_video(phone)
        phone.get_by_role("button", name="Pause").tap()
        box = phone.locator("#tape-video").bounding_box()
        assert box and round(box["width"] * 3) % 128 == 0, box  # whole device pixels
        assert box["width"] > 0.8 * (PHONE["width"] - 2 * 16)  # and most of the width
        save_screenshot(phone, "player-shapes-phone")
    finally:
        context.close()


def test_the_video_takes_over_from_the_recording_with_the_same_controls(
    page: Any, live_server: Any, make_tape: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    encoded = flat_tape(tmp_path_factory)
    tape = make_tape(
        status=TapeStatus.PROCESSING,
        progress=60,
        zip_content=encoded.zip,
        frames=encoded.frames,
        duration_ms=encoded.duration_ms,
        frame_ms=list(encoded.frame_ms),
        width=encoded.width,
        height=encoded.height,
    )
    page.goto(f"{live_server.url}/t/{tape.code}")
    page.locator("#tape[data-zip-playback=playing]").wait_for(timeout=15_000)
    page.get_by_label("Speed").select_option("0.5")
    page.get_by_role("button", name="Loop").click()
    page.get_by_role("button", name="Pause").click()
    # The encode job finishes: the page notices by polling and swaps in the MP4.
    mp4_key = tape.zip_key.removesuffix(".zip") + ".mp4"
    storage_for(tape.bucket).save(mp4_key, ContentFile(encoded.mp4))
    Tape.objects.filter(pk=tape.pk).update(status=TapeStatus.READY, progress=100, mp4_key=mp4_key)
    wait_for_video(page)
    page.locator("#player[data-source=video]").wait_for()
    # The person paused, so the video waits too; their speed and loop carry over.
    state = video(page)
    assert state["paused"] is True and state["rate"] == 0.5 and state["loop"] is False
    page.locator("#player").focus()
    page.keyboard.press("Home")
    wait_for_colour(page, "#tape-video", 0)
    page.keyboard.press("ArrowRight")
    assert video(page)["time"] == pytest.approx(mid(1), abs=0.002)
    wait_for_colour(page, "#tape-video", 1)


def test_with_reduced_motion_nothing_moves_until_play(
    browser: Any, live_server: Any, make_tape: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    tape = make_tape(encoded=flat_tape(tmp_path_factory))
    context = browser.new_context(reduced_motion="reduce")
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/t/{tape.code}")
        wait_for_video(page)
        assert video(page)["paused"] is True
        page.get_by_role("button", name="Play").click()
        assert video(page)["paused"] is False
    finally:
        context.close()
