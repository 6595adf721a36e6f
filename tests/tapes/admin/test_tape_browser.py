"""The tape's admin page in headless Chromium: its video shows the thumbnail before playing, at
desktop and phone sizes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.browser import save_screenshot
from tests.web.conftest import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_the_change_page_shows_the_poster_and_the_owners_page(
    browser: Any, live_server: Any, make_tape: Any, moderator: Any, user: Any, size: str
) -> None:
    tape = make_tape(media=True, user=user, mp4_key="x.mp4", title="Sunset")
    phone = size == "phone"
    context = browser.new_context(
        viewport={"width": 390, "height": 844} if phone else {"width": 1280, "height": 800},
        is_mobile=phone,
        has_touch=phone,
    )
    try:
        page = context.new_page()
        sign_in(page, live_server, moderator)
        page.goto(f"{live_server.url}/admin/tapes/tape/{tape.pk}/change/")
        video = page.locator("video.tape-admin-video")
        poster = video.get_attribute("poster")
        assert poster == f"/admin/tapes/tape/{tape.pk}/media/thumbnail/"
        # The poster is an image the browser can load (the thumbnail, for staff).
        loaded = page.evaluate(
            """(src) => new Promise((done) => {
                const i = new Image();
                i.onload = () => done(i.naturalWidth);
                i.onerror = () => done(0);
                i.src = src;
            })""",
            poster,
        )
        assert loaded > 0
        assert page.locator("a.moderate-nuke").is_visible()
        assert page.locator("a.moderate-unnuke").count() == 0
        page.locator("a.owner-page").click()
        page.wait_for_url(f"**/u/{user.username}")
        page.go_back()
        save_screenshot(page, f"admin-tape-{size}")
    finally:
        context.close()
