"""<tape-recorder> (static/tapes/tape-recorder.js) in headless Chromium, used as another website
uses it: the piece's page on a loopback origin of its own, under a strict CSP, imports the element
from the site (whitenoise, as in production) and posts to the live database and storage as a
guest of a registered site (tests/recorder/element_page.py). Failures and screenshots:
test_tape_recorder_element_failures_browser.py."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tapes import services
from tapes.archive import inspect_archive
from tapes.models import Tape
from tapes.storage import storage_for
from tests.recorder.element_page import (
    POSTED_WALK,
    element_page,
    open_page,
    open_piece,
    record_and_stop,
    registered,
    shadow_text,
    wait_state,
)
from tests.support.browser import CspWatch, save_screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def test_record_stop_and_post_as_a_guest(page: Any, whitenoise_server: str, listener: Any) -> None:
    other = element_page(listener, whitenoise_server, {"piece": "orbits", "seconds": "10"})
    registered(other)
    csp = CspWatch(page)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    open_page(page, other)
    recorder = page.locator("tape-recorder")
    assert recorder.get_attribute("state") == "idle"
    assert shadow_text(page, ".time") == "0.0 / 10 s"

    record_and_stop(page, 0.8)
    summary = shadow_text(page, ".summary")
    assert summary.startswith("Your take: "), summary
    recorded = page.evaluate("() => window.recorded")
    assert f"{recorded['frames']} frames" in summary
    assert recorded["metadata"]["piece"] == "orbits"

    recorder.get_by_role("button", name="POST").click()
    wait_state(page, "posted")
    assert page.evaluate("() => stateTrail()") == POSTED_WALK
    answer = page.evaluate("() => window.answer")
    tape = Tape.objects.get(code=answer["code"])
    assert tape.piece == "orbits"
    assert tape.slug.startswith("orbits-")
    assert tape.user is None
    link = recorder.get_by_role("link", name=f"!{tape.code}")
    assert link.is_visible()
    assert link.get_attribute("href") == f"{whitenoise_server}/t/{tape.code}"
    claim = recorder.get_by_role("link", name="Keep it: claim on Tapesite")
    assert claim.is_visible()
    claim_href = claim.get_attribute("href") or ""
    assert claim_href.startswith(f"{whitenoise_server}/claim?code={tape.code}#token=")
    # The claim token is kept in the piece's page too, for the library's claim helpers.
    claims = page.evaluate("() => JSON.parse(localStorage.getItem('tapes.claims'))")
    assert [(c["site"], c["code"]) for c in claims] == [(whitenoise_server, tape.code)]
    assert claim_href.endswith(f"#token={claims[0]['token']}")
    assert page.evaluate("() => events") == ["tape-start", "tape-recorded", "tape-posted"]
    assert Tape.objects.count() == 1
    assert csp.violations() == []
    assert errors == []


def test_the_take_stops_itself_at_its_limit_and_a_late_stop_changes_nothing(
    page: Any, whitenoise_server: str, listener: Any
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    open_piece(page, listener, whitenoise_server, seconds="1")
    recorder = page.locator("tape-recorder")
    assert shadow_text(page, ".time") == "0.0 / 1 s"
    recorder.get_by_role("button", name="Record").click()
    # Nobody presses Stop: the limit does.
    wait_state(page, "recorded", timeout=10_000)
    note = recorder.get_by_role("status").filter(has_text="limit")
    assert note.inner_text() == "The take reached its 1 s limit and stopped by itself."
    assert note.is_visible()
    recorded = page.evaluate("() => window.recorded")
    assert 990 <= recorded["durationMs"] <= 1000, recorded
    save_screenshot(page, "tape-recorder-limit")
    assert page.evaluate("() => events") == ["tape-start", "tape-limit", "tape-recorded"]

    # Stop pressed just too late (its button already gone, so pressed by script) and the
    # element's stop() called again: nothing happens, no error, still the one take.
    late = page.evaluate(
        """async () => {
            const recorder = document.querySelector('tape-recorder');
            const take = recorder.take;
            recorder.shadowRoot.querySelector('.stop').click();
            await recorder.stop();
            return {state: recorder.state, same: recorder.take === take, takeState: take.state};
        }"""
    )
    assert late == {"state": "recorded", "same": True, "takeState": "recorded"}
    assert page.evaluate("() => events") == ["tape-start", "tape-limit", "tape-recorded"]
    recorder.get_by_role("button", name="POST").click()
    wait_state(page, "posted")
    assert Tape.objects.count() == 1
    assert page.evaluate("() => stateTrail()") == POSTED_WALK
    assert errors == []


def test_a_take_in_which_nothing_changed_cannot_be_posted(
    page: Any, whitenoise_server: str, listener: Any
) -> None:
    other = element_page(
        listener,
        whitenoise_server,
        {"piece": "orbits", "seconds": "10", "blank-colour": "#1d2b53"},
        still=True,
    )
    registered(other)
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    open_page(page, other)
    record_and_stop(page, 0.5)
    recorder = page.locator("tape-recorder")
    blank = recorder.get_by_role("status").filter(has_text="Nothing changed")
    assert blank.is_visible()
    assert blank.inner_text() == (
        "Nothing changed on the canvas during this take, so there is nothing to post. "
        "Record again while it moves."
    )
    assert page.evaluate("() => window.recorded.blank") is True
    assert recorder.get_by_role("button", name="POST").count() == 0  # hidden, not just greyed
    # Asked by script all the same: nothing is sent.
    assert page.evaluate("() => document.querySelector('tape-recorder').post()") is None
    assert recorder.get_attribute("state") == "recorded"
    save_screenshot(page, "tape-recorder-blank")
    # Nothing worth keeping: its way out is to record again, with no question.
    recorder.get_by_role("button", name="Record again").click()
    wait_state(page, "idle")
    assert posts == []
    assert Tape.objects.count() == 0


def test_download_zip_and_discard(
    page: Any, whitenoise_server: str, listener: Any, tmp_path: Path
) -> None:
    open_piece(page, listener, whitenoise_server)
    record_and_stop(page, 0.5)
    recorder = page.locator("tape-recorder")
    frames = page.evaluate("() => window.recorded.frames")
    with page.expect_download() as download:
        recorder.get_by_role("button", name="Download ZIP").click()
    name = download.value.suggested_filename
    assert re.fullmatch(r"orbits-\d{4}(\.\d\d){5}\.\d{3}\.zip", name), name
    saved = tmp_path / name
    download.value.save_as(saved)
    info = inspect_archive(saved)
    assert info.frames == frames
    assert info.discrepancies == ()

    # An unposted take: Discard asks first, and keeping it changes nothing.
    question = recorder.get_by_role("alertdialog", name="Discard this take?")
    recorder.get_by_role("button", name="Discard").click()
    assert question.is_visible()
    # The question stands in for the take's buttons: POST cannot be pressed past it.
    assert recorder.get_by_role("button", name="POST").count() == 0
    assert (
        page.evaluate(
            "() => document.querySelector('tape-recorder').shadowRoot.activeElement.className"
        )
        == "keep"
    )
    save_screenshot(page, "tape-recorder-discard-question")
    question.get_by_role("button", name="Keep it").click()
    assert question.is_hidden()
    assert recorder.get_attribute("state") == "recorded"
    recorder.get_by_role("button", name="Discard").click()
    page.keyboard.press("Escape")  # keeps it too
    assert question.is_hidden()
    assert recorder.get_by_role("button", name="POST").is_visible()
    recorder.get_by_role("button", name="Discard").click()
    question.get_by_role("button", name="Discard").click()
    wait_state(page, "idle")
    gone = page.evaluate(
        "() => ({take: document.querySelector('tape-recorder').take, events: window.events})"
    )
    assert gone == {"take": None, "events": ["tape-start", "tape-recorded", "tape-discarded"]}
    # Ready for the next take.
    recorder.get_by_role("button", name="Record").click()
    wait_state(page, "recording")
    assert Tape.objects.count() == 0


def test_frames_mode_posts_the_frames_the_page_made(
    page: Any, whitenoise_server: str, listener: Any, tmp_path: Path
) -> None:
    other = element_page(
        listener,
        whitenoise_server,
        {"piece": "steps", "seconds": "10", "mode": "frames"},
        frames=12,
        frame_ms=40,
    )
    registered(other)
    open_page(page, other)
    recorder = page.locator("tape-recorder")
    recorder.get_by_role("button", name="Record").click()
    # The page draws each frame, hands it over with take.frame(40), and stops after the 12th.
    wait_state(page, "recorded")
    assert page.evaluate("() => window.framesMade") == 12
    assert shadow_text(page, ".summary").startswith("Your take: 0.5 s, 12 frames, ")
    recorder.get_by_role("button", name="POST").click()
    wait_state(page, "posted")
    tape = Tape.objects.get(code=page.evaluate("() => window.answer.code"))
    assert tape.piece == "steps"
    saved = tmp_path / "posted.zip"
    tape = services.tape_zip_take(tape=tape)  # the encode job's first step
    with storage_for(tape.bucket).open(tape.zip_key) as stored:
        saved.write_bytes(stored.read())
    info = inspect_archive(saved)
    assert info.frames == 12
    assert list(info.durations_ms) == [40] * 12


# What the element shows, as a person would judge it: every shown button at least 44 px tall
# (a finger), nothing outside the element's box, no sideways scrolling of the page.


def test_leaving_warns_only_while_a_take_is_unposted(
    page: Any, whitenoise_server: str, listener: Any
) -> None:
    dialogs: list[str] = []

    def note(dialog: Any) -> None:
        dialogs.append(dialog.type)
        dialog.accept()

    page.on("dialog", note)
    open_piece(page, listener, whitenoise_server)
    record_and_stop(page, 0.4)
    page.reload()
    assert dialogs == ["beforeunload"]
    page.locator("html[data-ready=true]").wait_for(state="attached")
    record_and_stop(page, 0.4)
    page.locator("tape-recorder").get_by_role("button", name="POST").click()
    wait_state(page, "posted")
    page.reload()
    page.locator("html[data-ready=true]").wait_for(state="attached")
    assert dialogs == ["beforeunload"]
    assert Tape.objects.count() == 1
