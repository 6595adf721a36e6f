"""The pages' weight budgets (docs/pages.md), held in headless Chromium: the bytes the gallery's
first view with 24 ready tapes and a tape page transfer (DevTools Network events), and that the
gallery fetches nothing for cards below the fold until they are scrolled to. Times are for
bench/pages.py, not for tests."""

from __future__ import annotations

from typing import Any

import pytest

from tapes.models import Tape
from tests.conftest import SIZES
from tests.support.browser import save_screenshot
from tests.support.encoded import Encoded, encode_synthetic
from tests.support.page_weight import KIB, WATCH_FIRST_FRAME, Traffic, first_shown, settle

pytestmark = pytest.mark.django_db(transaction=True)

# The budgets of docs/pages.md ("Page weight"), in KiB on the wire with a cold cache.
GALLERY_FIRST_VIEW_KIB = 160
TAPE_PAGE_KIB = 128
CARDS = 24

# A few real tapes, encoded once for the module by our encoder (MP4, thumbnail, preview).
_ENCODED: list[Encoded] = []


def encoded_tapes(tmp_path_factory: pytest.TempPathFactory) -> list[Encoded]:
    if not _ENCODED:
        for seed in range(4):
            workdir = tmp_path_factory.mktemp(f"weight{seed}")
            _ENCODED.append(
                encode_synthetic(workdir, frames=90, width=128, height=96, scale=2, seed=seed)
            )
    return _ENCODED


@pytest.fixture
def gallery(make_tape: Any, tmp_path_factory: pytest.TempPathFactory) -> list[Tape]:
    """A full first page: CARDS ready tapes, the newest first."""
    tapes = encoded_tapes(tmp_path_factory)
    return [make_tape(encoded=tapes[i % len(tapes)], ago=i) for i in range(CARDS)]


def _media(traffic: Traffic, tape: Tape, name: str) -> int:
    """How many times the page asked for one of the tape's files."""
    return len(traffic.fetched(f"/tapes/{tape.code}/media/{name}"))


def open_page(browser: Any, size: str) -> tuple[Any, Any]:
    context = browser.new_context(**SIZES[size])
    context.set_default_timeout(15_000)
    context.add_init_script(WATCH_FIRST_FRAME)
    return context, context.new_page()


def test_the_gallerys_first_view_keeps_its_budget_and_fetches_no_preview(
    browser: Any, live_server: Any, gallery: list[Tape]
) -> None:
    context, page = open_page(browser, "desktop")
    try:
        traffic = Traffic(page)
        page.goto(live_server.url + "/tapes")
        first_shown(page, "thumb")
        settle(page)
        assert page.locator("#grid > li.card").count() == CARDS
        first_view = traffic.total()
        assert first_view <= GALLERY_FIRST_VIEW_KIB * KIB, traffic.by_kind()
        # A mouse screen plays a card's preview on hover only: none is fetched by itself.
        assert all(_media(traffic, tape, "preview") == 0 for tape in gallery)
        # Thumbnails carry their size, so the grid does not move as they arrive.
        sizes = page.evaluate(
            "() => [...document.querySelectorAll('.thumb img')].map((i) => [i.width, i.height,"
            " i.getAttribute('width'), i.getAttribute('height')])"
        )
        assert all(w and h for _, _, w, h in sizes), sizes
        # The first row (four cards at this size) loads at once; the rest as they near the view.
        loading = page.evaluate(
            "() => [...document.querySelectorAll('.thumb img')].map((i) => i.loading)"
        )
        assert loading == ["auto"] * 4 + ["lazy"] * (CARDS - 4), loading
        assert (
            page.evaluate(
                "() => new Set([...document.querySelectorAll('#grid > li.card')].slice(0, 4)"
                ".map((c) => c.getBoundingClientRect().top)).size"
            )
            == 1
        )
        # The counting sees a preview when one is wanted: pointing at the first card fetches it.
        page.locator("a.card-link").first.hover()
        page.wait_for_function(
            "() => document.querySelector('a.card-link').dataset.playing === 'true'"
        )
        settle(page, 200)
        assert _media(traffic, gallery[0], "preview") == 1
        assert traffic.total() > first_view
        save_screenshot(page, "weight-gallery-desktop")
    finally:
        context.close()


def test_a_phone_fetches_cards_below_the_fold_only_once_scrolled_to(
    browser: Any, live_server: Any, gallery: list[Tape]
) -> None:
    context, page = open_page(browser, "phone")
    try:
        traffic = Traffic(page)
        page.goto(live_server.url + "/tapes")
        first_shown(page, "thumb")
        settle(page)
        first_view = traffic.total()
        assert first_view <= GALLERY_FIRST_VIEW_KIB * KIB, traffic.by_kind()
        last = gallery[-1]
        # One column of cards: the last is thousands of pixels below the fold.
        below = page.evaluate(
            "() => document.querySelector('#grid > li.card:last-of-type')"
            ".getBoundingClientRect().top - innerHeight"
        )
        assert below > 3000, below
        assert _media(traffic, last, "thumbnail") == 0
        assert _media(traffic, last, "preview") == 0
        # The first card is in view, and a touch screen plays what is in view.
        page.wait_for_function(
            "() => document.querySelector('a.card-link').dataset.playing === 'true'"
        )
        assert _media(traffic, gallery[0], "preview") == 1
        previews = sum(_media(traffic, tape, "preview") for tape in gallery)
        assert previews <= 2, previews  # at most the cards on screen
        save_screenshot(page, "weight-gallery-phone")

        page.locator("#grid > li.card").last.scroll_into_view_if_needed()
        page.wait_for_function(
            "() => [...document.querySelectorAll('a.card-link')].at(-1).dataset.playing === 'true'"
        )
        settle(page, 200)
        assert _media(traffic, last, "thumbnail") == 1
        assert _media(traffic, last, "preview") == 1
    finally:
        context.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_a_tape_page_keeps_its_budget_and_fetches_its_video_once(
    browser: Any,
    live_server: Any,
    make_tape: Any,
    tmp_path_factory: pytest.TempPathFactory,
    size: str,
) -> None:
    encoded = encoded_tapes(tmp_path_factory)[0]
    tape = make_tape(encoded=encoded, ago=0)
    context, page = open_page(browser, size)
    try:
        traffic = Traffic(page)
        page.goto(f"{live_server.url}/t/{tape.code}")
        first_shown(page, "video")
        settle(page)
        # The page itself (all but the video) is within its budget...
        video = traffic.of_kind("Media")
        assert traffic.total() - video <= TAPE_PAGE_KIB * KIB, traffic.by_kind()
        # ...and the video it plays on a loop is fetched once, not again on every lap.
        assert len(encoded.mp4) <= video <= len(encoded.mp4) + 4 * KIB, video
        # A ready tape plays its MP4: the ZIP reader, its inflater and the frame player (for
        # playing the recording while the video is made) are never fetched, nor the ZIP.
        for unused in ("tapezip", "fflate", "frameplayer"):
            assert traffic.fetched(unused) == [], unused
        assert _media(traffic, tape, "zip") == 0
        save_screenshot(page, f"weight-tape-{size}")
    finally:
        context.close()
