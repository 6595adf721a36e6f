"""The recorder on a phone, upright and sideways: the canvas, Record/Stop and the timer on screen
together without scrolling, a finger draws and never scrolls the page; and a tour of the
recorder's states at desktop and phone sizes, kept as screenshots to look at."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.browser import save_screenshot
from tests.web.conftest import canvas_ink, in_viewport, scribble, touch_drag, wait_for_ink

pytestmark = pytest.mark.django_db(transaction=True)

DESKTOP = {"width": 1280, "height": 800}
PORTRAIT = {"width": 390, "height": 844}
LANDSCAPE = {"width": 844, "height": 390}


@pytest.fixture
def open_recorder(browser: Any, live_server: Any) -> Iterator[Any]:
    contexts: list[Any] = []

    def opened(viewport: dict[str, int], *, phone: bool) -> Any:
        context = browser.new_context(viewport=viewport, is_mobile=phone, has_touch=phone)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())
        page.goto(live_server.url + "/")
        page.locator("#recorder[data-ready=true]").wait_for()
        return page

    yield opened
    for context in contexts:
        context.close()


def scroll_y(page: Any) -> float:
    return float(page.evaluate("() => window.scrollY"))


def off_screen(page: Any, *selectors: str) -> list[str]:
    return [selector for selector in selectors if not in_viewport(page, selector)]


@pytest.mark.parametrize("viewport", [PORTRAIT, LANDSCAPE], ids=["portrait", "landscape"])
def test_on_a_phone_the_canvas_record_and_timer_fit_and_a_finger_draws(
    open_recorder: Any, viewport: dict[str, int]
) -> None:
    page = open_recorder(viewport, phone=True)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= viewport["width"]
    assert off_screen(page, "#paper", "#record", ".limit") == []
    # The palette and brushes are still there to use, in two rows at most.
    page.get_by_label("sky").check(force=True)
    assert page.locator("input[value='#29adff']").is_checked()
    swatch = page.locator(".swatch").first.bounding_box()
    assert swatch and swatch["width"] >= 28 and swatch["height"] >= 28

    # A page long enough to scroll, so a drag that scrolled it would show.
    page.evaluate("() => { document.body.style.minHeight = '300vh'; }")
    assert page.evaluate("() => document.documentElement.scrollHeight") > viewport["height"] * 2
    touch_drag(page, "#paper")
    assert canvas_ink(page, "#paper") > 20, "a finger did not draw"
    assert scroll_y(page) == 0, "drawing scrolled the page"

    page.locator("#record").tap()
    page.locator("#recorder[data-state=recording]").wait_for()
    assert off_screen(page, "#paper", "#stop", "#rec-badge", ".limit") == []
    touch_drag(page, "#paper")
    assert scroll_y(page) == 0
    page.locator("#stop").tap()
    page.locator("#recorder[data-state=recorded]").wait_for()
    assert page.locator("#recorder").get_attribute("data-blank") == "false"
    assert off_screen(page, "#take", "#post") == []


def test_the_canvas_scales_to_the_screen_and_keeps_its_resolution(open_recorder: Any) -> None:
    """The canvas is shown at a CSS size that fits each screen; a stroke lands where the pointer
    is, in the canvas' own pixels."""
    sizes = {}
    for name, viewport, phone in (
        ("desktop", DESKTOP, False),
        ("portrait", PORTRAIT, True),
        ("landscape", LANDSCAPE, True),
    ):
        page = open_recorder(viewport, phone=phone)
        box = page.locator("#paper").bounding_box()
        assert box
        sizes[name] = box["width"]
        assert abs(box["width"] / box["height"] - 4 / 3) < 0.02, (name, box)
        page.get_by_label("black").check(force=True)
        page.get_by_label("1 pixel", exact=True).check(force=True)
        # A click at 3/4 across and 1/2 down inks the canvas pixel (192, 96) of 256 x 192.
        page.mouse.click(box["x"] + box["width"] * 0.75, box["y"] + box["height"] * 0.5)
        pixel = page.evaluate(
            """() => { const c = document.getElementById('paper');
                       return [c.width, c.height,
                               ...c.getContext('2d').getImageData(190, 94, 5, 5).data]; }"""
        )
        assert pixel[:2] == [256, 192]
        assert 0 in pixel[2:], f"{name}: the stroke missed its spot"
    assert sizes["portrait"] < sizes["landscape"] < sizes["desktop"]


@pytest.mark.parametrize(
    ("name", "viewport", "phone"),
    [("desktop", DESKTOP, False), ("phone", PORTRAIT, True), ("landscape", LANDSCAPE, True)],
)
def test_screenshots_of_every_recorder_state(
    open_recorder: Any, name: str, viewport: dict[str, int], phone: bool
) -> None:
    page = open_recorder(viewport, phone=phone)
    save_screenshot(page, f"rec-{name}-idle")
    page.get_by_role("button", name="Record").click()
    scribble(page, 0.6)
    assert off_screen(page, "#paper", "#stop", "#rec-badge") == []
    save_screenshot(page, f"rec-{name}-recording")
    page.get_by_role("button", name="Stop").click()
    page.locator("#recorder[data-kept=saved]").wait_for()
    page.reload()
    page.locator("#recorder[data-ready=true]").wait_for()
    assert page.locator("#take-notice").get_attribute("data-code") == "restored"
    wait_for_ink(page, "#take", 20)
    save_screenshot(page, f"rec-{name}-restored")
    page.get_by_role("button", name="Record again").click()
    page.get_by_role("dialog").wait_for()
    save_screenshot(page, f"rec-{name}-discard-dialog")
    page.get_by_role("button", name="Discard").click()
    page.get_by_role("button", name="Record", exact=True).click()
    page.wait_for_timeout(400)
    page.get_by_role("button", name="Stop").click()
    page.locator("[data-reason=blank_take]").wait_for()
    save_screenshot(page, f"rec-{name}-blank-take")
