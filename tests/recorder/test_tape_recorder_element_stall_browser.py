"""<tape-recorder> when storage takes the upload's connection and never answers (a real loopback
listener, no mocks): the post fails as stalled within the element's stall window and Try again
posts the same take; and Cancel, pressed while it hangs, gives the take back to be POSTed again.
Each ends with exactly one Tape row."""

from __future__ import annotations

import io
import time
from typing import Any

import pytest
from django.core.management import call_command

from tapes.models import Tape
from tests.recorder import element_page as piece
from tests.recorder.conftest import look, storages_at, wait_for_connection
from tests.support.browser import CspWatch
from tests.support.listeners import Listener, silent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.s3]

STALL_SECONDS = 2
STALLED = "The upload stalled: storage took it but stopped answering. Try again."
CANCELLED = "Posting cancelled. Your take is kept here: POST it when you are ready."

# The element's take and what it holds, as the page sees them.
KEPT = """() => {
    const recorder = document.querySelector('tape-recorder');
    return {take: recorder.take.state, bytes: recorder.result.zip.size};
}"""


def recorded_piece(page: Any, listener: Any, site: str, attributes: dict[str, str]) -> int:
    """The piece on a registered site of its own, its bucket open to that site (CORS), a take
    recorded; returns the take's size in bytes."""
    other = piece.element_page(listener, site, {"piece": "orbits", "seconds": "10", **attributes})
    piece.registered(other)
    call_command("tapes_storage_setup", stdout=io.StringIO())
    piece.open_page(page, other)
    piece.record_and_stop(page, 0.6)
    return int(page.evaluate("() => window.recorded.bytes"))


def post_into(page: Any, listener: Any, settings: Any) -> tuple[Listener, dict[str, Any]]:
    """Point storage at a listener that accepts and never answers, press POST, and wait until
    the upload hangs there; returns the listener and the storages to put back."""
    working = settings.STORAGES
    hung = listener(silent())
    settings.STORAGES = storages_at(working, hung.url)
    page.locator("tape-recorder").get_by_role("button", name="POST").click()
    piece.wait_state(page, "posting")
    wait_for_connection(hung)
    return hung, working


def posted_once(page: Any, button: str, size: int, between: str) -> None:
    """Press ``button`` with storage working again: exactly one Tape row, of the same take (not a
    new recording), and the element's events with ``between`` where the first post ended."""
    page.locator("tape-recorder").get_by_role("button", name=button).click()
    piece.wait_state(page, "posted")
    tape = Tape.objects.get()
    assert tape.zip_bytes == size
    assert tape.code == page.evaluate("() => window.answer.code")
    events = page.evaluate("() => events")
    assert events == ["tape-start", "tape-recorded", between, "tape-posted"]


def test_an_upload_that_stalls_fails_in_the_stall_window_and_try_again_posts_once(
    page: Any, whitenoise_server: str, listener: Any, s3_storage: Any, settings: Any
) -> None:
    attributes = {"stall-seconds": str(STALL_SECONDS)}
    size = recorded_piece(page, listener, whitenoise_server, attributes)
    recorder = page.locator("tape-recorder")
    started = time.monotonic()
    hung, working = post_into(page, listener, settings)
    piece.wait_state(page, "failed", timeout=(STALL_SECONDS + 8) * 1000)
    waited = time.monotonic() - started
    # Not before the window (the upload showed no sign of life for all of it), not long after.
    assert STALL_SECONDS <= waited < STALL_SECONDS + 6, waited
    assert hung.connections >= 1
    reason = recorder.get_by_role("alert")
    assert reason.get_attribute("data-code") == "upload_stalled"
    assert reason.inner_text() == STALLED
    assert "POST FAILED" in piece.shadow_text(page, ".failed")
    look(page, "tape-recorder-stalled")
    assert page.evaluate(KEPT) == {"take": "failed", "bytes": size}
    assert Tape.objects.count() == 0

    settings.STORAGES = working
    posted_once(page, "Try again", size, "tape-failed:upload_stalled")


def test_cancel_while_the_upload_hangs_keeps_the_take_and_post_sends_it_once(
    tab: Any, whitenoise_server: str, listener: Any, s3_storage: Any, settings: Any
) -> None:
    page, screen = tab, tab.size_name  # once at each of the suite's sizes (desktop, phone)
    csp = CspWatch(page)
    # The default stall window (30 s): only Cancel ends this post in the test's time.
    size = recorded_piece(page, listener, whitenoise_server, {})
    recorder = page.locator("tape-recorder")
    hung, working = post_into(page, listener, settings)
    page.wait_for_function(
        "() => document.querySelector('tape-recorder').shadowRoot.querySelector('.step')"
        ".textContent.startsWith('Uploading…')"
    )
    buttons = look(page, f"tape-recorder-{screen}-posting-cancel")
    assert [text for text, _ in buttons] == ["Cancel"]

    recorder.get_by_role("button", name="Cancel").click()
    piece.wait_state(page, "recorded", timeout=3_000)
    note = page.evaluate(
        """() => {
            const note = document.querySelector('tape-recorder').shadowRoot.querySelector('.note');
            return {text: note.innerText, code: note.dataset.code,
                    calm: note.hasAttribute('data-calm'),
                    colour: getComputedStyle(note).borderLeftColor};
        }"""
    )
    assert note["text"] == CANCELLED
    assert note["code"] == "post_cancelled"
    assert note["calm"]
    assert note["colour"] == "rgb(255, 236, 39)"  # the accent, not the failure's red
    assert recorder.get_by_role("alert").count() == 0  # no failure shown
    assert page.evaluate(KEPT) == {"take": "recorded", "bytes": size}
    focused = "() => document.querySelector('tape-recorder').shadowRoot.activeElement.className"
    assert page.evaluate(focused) == "post"
    look(page, f"tape-recorder-{screen}-cancelled")
    assert Tape.objects.count() == 0

    settings.STORAGES = working
    posted_once(page, "POST", size, "tape-cancelled")
    trail = page.evaluate("() => stateTrail()")
    assert trail == [*piece.POSTED_WALK[:-1], "recorded", "posting", "posted"]
    assert hung.connections >= 1
    assert csp.violations() == []
