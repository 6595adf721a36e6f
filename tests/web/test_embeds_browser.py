"""Embeds in headless Chromium: another site (a loopback listener on its own port, so another
origin) puts the iframe code oEmbed hands out on its page, and the tape really plays in it,
pixel-exact, pauses on a click, and its link opens the tape's page; the tape page itself stays
unframable; a nuked tape's embed is the gone card. Screenshots at desktop and phone sizes."""

from __future__ import annotations

import io
import json
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from PIL import Image, ImageChops

from tapes.models import Tape, TapeStatus
from tests.support.browser import CspWatch, save_screenshot
from tests.support.encoded import Encoded, encode_synthetic
from tests.support.listeners import Listener, respond

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}
# The embed's bar under the picture (web.oembed.BAR_PX).
BAR = 36
_ENCODED: dict[str, Encoded] = {}


def shapes(tmp_path_factory: pytest.TempPathFactory) -> Encoded:
    """Moving shapes at 128 x 96, encoded once for the module."""
    if "shapes" not in _ENCODED:
        _ENCODED["shapes"] = encode_synthetic(
            tmp_path_factory.mktemp("shapes"), frames=60, width=128, height=96, scale=1, seed=7
        )
    return _ENCODED["shapes"]


def oembed(live_server: Any, tape: Tape, **params: int) -> dict[str, Any]:
    """The answer a consumer gets, asked over HTTP as one would."""
    url = quote(f"{live_server.url}/t/{tape.code}", safe="")
    extra = "".join(f"&{k}={v}" for k, v in params.items())
    with urllib.request.urlopen(f"{live_server.url}/oembed?url={url}&format=json{extra}") as got:
        return dict(json.load(got))


def host_page(listener: Any, *iframes: str) -> Listener:
    """Someone's blog on another origin, with the embed code pasted into a post."""
    body = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>A blog</title><style>body{font:16px/1.5 Georgia,serif;margin:0 auto;"
        "max-width:44rem;padding:1rem;background:#faf7f0;color:#222}"
        "iframe{display:block;max-width:100%;margin:1rem 0}</style></head><body>"
        "<h1>Things I drew this week</h1><p>Here is the tape I made on Tapesite:</p>"
        + "".join(iframes)
        + "<p>More soon.</p></body></html>"
    ).encode()
    server: Listener = listener(
        respond(body=body, headers={"Content-Type": "text/html; charset=utf-8"})
    )
    return server


def embedded(page: Any) -> Any:
    """The embed's frame, once its video shows a picture at its fitted size."""
    frame = page.frame_locator("iframe").first
    frame.locator("#tape-video[data-fitted]").wait_for(timeout=30_000)
    embed_frame(page).wait_for_function(
        "() => document.getElementById('tape-video').readyState >= 2", timeout=30_000
    )
    return frame


def embed_frame(page: Any) -> Any:
    return next(f for f in page.frames if f.url.endswith("/embed"))


def video_state(page: Any) -> dict[str, Any]:
    return dict(
        embed_frame(page).evaluate(
            """() => { const v = document.getElementById('tape-video');
                       return {time: v.currentTime, paused: v.paused, ready: v.readyState,
                               loop: v.loop}; }"""
        )
    )


def picture(locator: Any) -> Image.Image:
    return Image.open(io.BytesIO(locator.screenshot())).convert("RGB")


def test_the_embed_plays_inside_another_sites_page(
    page: Any,
    live_server: Any,
    make_tape: Any,
    listener: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    tape = make_tape(encoded=shapes(tmp_path_factory), title="Shapes")
    answer = oembed(live_server, tape)
    # 128 x 96 at 5x is the largest whole scale inside 640 x 480; the bar comes on top.
    assert (answer["width"], answer["height"]) == (640, 480 + BAR)
    blog = host_page(listener, answer["html"])
    assert blog.url.split(":")[-1] != live_server.url.split(":")[-1]  # another origin
    csp = CspWatch(page)
    page.goto(blog.url)
    frame = embedded(page)
    video = frame.locator("#tape-video")
    # It plays: the clock moves and so does the picture.
    first = video_state(page)
    assert first["loop"] is True
    before = picture(video)
    page.wait_for_timeout(700)
    later = video_state(page)
    assert later["time"] != pytest.approx(first["time"], abs=0.05), (first, later)
    assert later["paused"] is False
    assert ImageChops.difference(before, picture(video)).getbbox() is not None
    # Pixel-exact: the picture is the drawing at a whole scale, filling the frame above the bar.
    box = video.bounding_box()
    assert box and (box["width"], box["height"]) == (640, 480), box
    assert frame.locator("#player").get_attribute("data-scale") == "5"
    save_screenshot(page, "embed-host-desktop")

    # A click on the picture pauses it (the bar's button says Play), another plays it again.
    video.click()
    embed_frame(page).wait_for_function("() => document.getElementById('tape-video').paused")
    paused = video_state(page)
    assert paused["paused"] is True
    assert frame.locator("#embed-play").get_attribute("aria-label") == "Play"
    page.wait_for_timeout(400)
    assert video_state(page)["time"] == pytest.approx(paused["time"], abs=0.001)
    save_screenshot(page, "embed-host-paused-desktop")
    frame.locator("#embed-play").click()
    embed_frame(page).wait_for_function("() => !document.getElementById('tape-video').paused")

    # The link back opens the tape's page, in a tab of its own, outside the frame.
    with page.context.expect_page() as opened:
        frame.locator("#embed-link").click()
    tab = opened.value
    tab.wait_for_load_state()
    assert tab.url == f"{live_server.url}/t/{tape.code}"
    assert tab.locator("h1.tape-title").inner_text() == "Shapes"
    assert page.url.rstrip("/") == blog.url
    assert csp.violations() == []


def test_the_embed_fits_a_phone_when_the_consumer_asks_for_less(
    browser: Any,
    live_server: Any,
    make_tape: Any,
    listener: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    tape = make_tape(encoded=shapes(tmp_path_factory))
    # What a consumer with a column 358 px wide asks for.
    answer = oembed(live_server, tape, maxwidth=358)
    assert (answer["width"], answer["height"]) == (256, 192 + BAR)
    blog = host_page(listener, answer["html"])
    context = browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=3
    )
    try:
        phone = context.new_page()
        phone.goto(blog.url)
        frame = embedded(phone)
        box = frame.locator("#tape-video").bounding_box()
        assert box and (box["width"], box["height"]) == (256, 192), box
        phone.wait_for_timeout(500)
        assert video_state(phone)["time"] > 0
        save_screenshot(phone, "embed-host-phone")
        # A tap pauses it, as a click does. (On the embed page itself: headless Chromium drops
        # touches aimed at a fresh context's out-of-process iframe more often than not under
        # load, before they reach it, which says nothing of the page.)
        phone.goto(f"{live_server.url}/t/{tape.code}/embed")
        phone.locator("#tape-video[data-fitted]").wait_for(timeout=30_000)
        phone.wait_for_function(
            "() => { const v = document.getElementById('tape-video');"
            " return v.readyState >= 2 && !v.paused && v.currentTime > 0; }"
        )
        phone.locator("#tape-video").tap()
        phone.wait_for_function("() => document.getElementById('tape-video').paused")
        assert phone.locator("#embed-play").get_attribute("aria-label") == "Play"
        phone.locator("#embed-play").tap()
        phone.wait_for_function("() => !document.getElementById('tape-video').paused")
    finally:
        context.close()


def test_another_site_can_frame_the_embed_but_not_the_tape_page(
    page: Any,
    live_server: Any,
    make_tape: Any,
    listener: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    tape = make_tape(encoded=shapes(tmp_path_factory))
    blog = host_page(
        listener,
        f'<iframe id="embed" src="{live_server.url}/t/{tape.code}/embed" width="300" '
        'height="300"></iframe>',
        f'<iframe id="page" src="{live_server.url}/t/{tape.code}" width="300" '
        'height="300"></iframe>',
    )
    page.goto(blog.url)
    page.frame_locator("#embed").locator("#tape-video[data-fitted]").wait_for(timeout=30_000)
    page.wait_for_timeout(500)
    # Chromium puts its own "refused to connect" page in place of the tape page.
    refused = page.frame_locator("#page")
    assert refused.locator("#tape").count() == 0
    assert refused.locator("body").inner_text(timeout=10_000) != ""


def test_a_nuked_tapes_embed_is_a_small_gone_card(
    browser: Any, page: Any, live_server: Any, make_tape: Any, listener: Any
) -> None:
    tape = make_tape(media=True, nuked=True)
    making = make_tape(status=TapeStatus.PROCESSING, progress=30, frames=None, duration_ms=None)
    frames = [
        f'<iframe id="{name}" src="{live_server.url}/t/{code}/embed" width="512" height="420" '
        'title="A tape on Tapesite" frameborder="0" style="border:0"></iframe>'
        for name, code in (("gone", tape.code), ("making", making.code))
    ]
    blog = host_page(listener, *frames)
    page.goto(blog.url)
    card = page.frame_locator("#gone").locator("#embed-gone")
    card.wait_for()
    assert card.get_attribute("data-state") == "gone"
    assert "This tape is gone." in card.inner_text()
    later = page.frame_locator("#making").locator("#player[data-state=making]")
    assert "still being made" in later.inner_text()
    save_screenshot(page, "embed-gone-desktop")
    context = browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=3
    )
    try:
        phone = context.new_page()
        phone.goto(blog.url)
        phone.frame_locator("#gone").locator("#embed-gone").wait_for()
        save_screenshot(phone, "embed-gone-phone")
    finally:
        context.close()


def test_the_tape_pages_embed_box_copies_the_code_and_fits_a_phone(
    browser: Any,
    live_server: Any,
    make_tape: Any,
    tmp_path_factory: pytest.TempPathFactory,
    tmp_path: Path,
) -> None:
    tape = make_tape(encoded=shapes(tmp_path_factory))
    context = browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=3
    )
    try:
        phone = context.new_page()
        phone.goto(f"{live_server.url}/t/{tape.code}")
        box = phone.locator("#embed-box")
        box.locator("summary").tap()
        code = phone.locator("#embed-code")
        code.wait_for()
        assert code.input_value().startswith(f'<iframe src="{live_server.url}/t/{tape.code}/embed"')
        phone.locator("#copy-embed").tap()
        phone.locator("#copy-embed-done").filter(has_text="C").wait_for()
        # Nothing sticks out sideways at phone width.
        assert phone.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
        inside = phone.evaluate(
            """() => { const r = document.getElementById('embed-box').getBoundingClientRect();
                       return r.left >= 0 && r.right <= window.innerWidth; }"""
        )
        assert inside
        box.scroll_into_view_if_needed()
        save_screenshot(phone, "embed-box-phone")
    finally:
        context.close()
