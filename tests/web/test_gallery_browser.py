"""The tape grids in headless Chromium: every card holds its own words, touch screens play the
cards in view (unless asked not to), and the recorder's Share… button uses the system sheet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import save_screenshot
from tests.web.conftest import record_take

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}

# The parts of every card that are not inside the box drawn as the card.
_OUTSIDE = """() => {
    const PARTS = '.card-title, .card-code, .card-by, time, .thumb';
    const out = [];
    for (const card of document.querySelectorAll('#grid > li.card')) {
        const box = card.getBoundingClientRect();
        // The box a person sees as the card is the <li> itself: it draws the border.
        if (getComputedStyle(card).borderTopStyle === 'none') out.push('no border on the card');
        const code = card.querySelector('.card-code').textContent;
        for (const part of card.querySelectorAll(PARTS)) {
            const r = part.getBoundingClientRect();
            if (r.left < box.left - 0.5 || r.right > box.right + 0.5
                || r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5) {
                out.push(`${part.className || part.tagName} of ${code}`);
            }
        }
    }
    return out;
}"""


def phone(browser: Any, **options: Any) -> Any:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, **options)
    context.set_default_timeout(15_000)
    return context


def _cards(make_tape: Any, user: Any) -> None:
    make_tape(media=True, ago=3, user=user, title="A very long title for a small card, to wrap")
    make_tape(media=True, ago=2)
    make_tape(media=True, ago=1, user=user, title="Sunset")
    make_tape(ago=0, status="processing", progress=40)


def test_every_card_holds_its_code_byline_and_age(
    page: Any, browser: Any, live_server: Any, make_tape: Any, user: Any
) -> None:
    user.name = "Ada Lovelace"
    user.save()
    _cards(make_tape, user)
    page.goto(live_server.url + "/tapes")
    assert page.locator("#grid > li.card").count() == 4
    assert page.evaluate(_OUTSIDE) == []
    titles = page.locator(".card-title").all_inner_texts()
    assert titles[0] == "draw" and titles[1] == "Sunset"  # the piece when untitled
    assert "card-untitled" in (page.locator(".card-title").first.get_attribute("class") or "")
    # The by-line is in the card, under the code, and says who and when.
    first = page.locator("#grid > li.card").nth(1)
    assert first.locator(".card-owner").inner_text() == "by Ada Lovelace"
    assert first.locator(".card-by time").inner_text().endswith("ago")
    # One line each: who and when side by side, whatever their length.
    heights = page.evaluate(
        "() => [...document.querySelectorAll('.card-by')].map((e) => e.offsetHeight)"
    )
    assert len(set(heights)) == 1, heights
    # Thumbnails are drawn pixel by pixel, not smoothed.
    rendering = page.evaluate(
        "() => getComputedStyle(document.querySelector('.thumb img')).imageRendering"
    )
    assert rendering == "pixelated"
    save_screenshot(page, "gallery-desktop")
    page.goto(f"{live_server.url}/u/{user.username}")
    assert page.evaluate(_OUTSIDE) == []
    save_screenshot(page, "user-desktop")

    context = phone(browser)
    try:
        tab = context.new_page()
        for path, name in (("/tapes", "gallery-phone"), (f"/u/{user.username}", "user-phone")):
            tab.goto(live_server.url + path)
            assert tab.evaluate(_OUTSIDE) == [], path
            assert not tab.evaluate("() => document.documentElement.scrollWidth > innerWidth + 1")
            save_screenshot(tab, name)
    finally:
        context.close()


def _playing(tab: Any) -> list[bool]:
    return tab.evaluate(
        """() => [...document.querySelectorAll('a.card-link[data-preview]')].map(
            (a) => a.querySelector('img').src === a.dataset.preview)"""
    )


def test_a_touch_screen_plays_the_cards_in_view(
    browser: Any, live_server: Any, make_tape: Any
) -> None:
    for ago in range(6):
        make_tape(media=True, ago=ago)
    context = phone(browser)
    try:
        tab = context.new_page()
        tab.goto(live_server.url + "/tapes")
        assert tab.evaluate("() => matchMedia('(hover: none)').matches")
        tab.wait_for_function(
            "() => document.querySelector('a.card-link').dataset.playing === 'true'"
        )
        playing = _playing(tab)
        assert playing[0] and not playing[-1], playing  # the first is in view, the last not
        # Scrolled to the end: the last plays, the first has stopped.
        tab.locator("a.card-link").last.scroll_into_view_if_needed()
        tab.wait_for_function(
            "() => [...document.querySelectorAll('a.card-link')].at(-1).dataset.playing === 'true'"
        )
        tab.wait_for_function(
            "() => document.querySelector('a.card-link').dataset.playing === 'false'"
        )
        # Asking for less motion stops them at once.
        tab.emulate_media(reduced_motion="reduce")
        tab.wait_for_function("() => !document.querySelector('a.card-link[data-playing=true]')")
        assert not any(_playing(tab))
    finally:
        context.close()


@pytest.mark.parametrize("setting", ["reduced-motion", "save-data"])
def test_a_touch_screen_keeps_cards_still_when_asked(
    browser: Any, live_server: Any, make_tape: Any, setting: str
) -> None:
    make_tape(media=True)
    context = phone(browser, reduced_motion="reduce" if setting == "reduced-motion" else None)
    if setting == "save-data":
        context.add_init_script(
            "Object.defineProperty(navigator, 'connection', {value: {saveData: true}})"
        )
    try:
        tab = context.new_page()
        tab.goto(live_server.url + "/tapes")
        link = tab.locator("a.card-link").first
        tab.wait_for_function("() => document.querySelector('a.card-link').dataset.playing")
        tab.wait_for_timeout(300)
        assert link.get_attribute("data-playing") == "false"
        assert not any(_playing(tab))
    finally:
        context.close()


# The system share sheet, stubbed: what it was asked to share is kept on window.
_SHARE_STUB = """
window.__shared = [];
navigator.share = async (data) => { window.__shared.push(data); };
"""


@pytest.mark.parametrize("has_share", [True, False])
def test_the_recorder_offers_share_where_the_browser_can(
    browser: Any, live_server: Any, local_storage: Path, has_share: bool
) -> None:
    context = phone(browser)
    if has_share:
        context.add_init_script(_SHARE_STUB)
    try:
        tab = context.new_page()
        tab.goto(live_server.url + "/")
        tab.locator("#recorder[data-ready=true]").wait_for()
        record_take(tab, 0.5)
        tab.get_by_role("button", name="POST").click()
        tab.locator("#posted").wait_for()
        code = tab.locator("#posted-link").inner_text().removeprefix("!")
        share = tab.locator("#share-link")
        assert tab.get_by_role("button", name="Copy link").is_visible()
        if not has_share:
            assert share.is_hidden()
            return
        assert share.is_visible()
        copy_box, share_box = tab.locator("#copy-link").bounding_box(), share.bounding_box()
        assert copy_box and share_box and abs(copy_box["y"] - share_box["y"]) < 4  # beside it
        save_screenshot(tab, "recorder-posted-share-phone")
        share.click()
        tab.wait_for_function("() => window.__shared.length === 1")
        shared = tab.evaluate("() => window.__shared[0]")
        assert shared["url"] == f"{live_server.url}/t/{code}"
        assert code in shared["title"]
        assert share.get_attribute("data-shared") == "done"
    finally:
        context.close()
