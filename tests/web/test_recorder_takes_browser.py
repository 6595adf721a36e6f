"""The recorder never loses a take: an unposted take is kept in the browser (IndexedDB) and comes
back after a reload, "Record again" asks first, leaving warns; and a take in which nothing was
drawn cannot be posted. Headless Chromium against the live server."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from tapes.models import Tape
from tests.support.browser import save_screenshot
from tests.web.conftest import (
    canvas_ink,
    kept_takes,
    record_take,
    scribble,
    wait_for_ink,
    wait_for_kept_takes,
)

pytestmark = pytest.mark.django_db(transaction=True)

# Moves the kept take's time back, as if it had been recorded `ms` earlier.
_AGE_KEPT_TAKE = """(ms) => new Promise((resolve, reject) => {
    const open = indexedDB.open('tapesite-takes');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
        const db = open.result;
        const store = db.transaction('takes', 'readwrite').objectStore('takes');
        const get = store.get('unposted');
        get.onsuccess = () => {
            const take = get.result;
            take.savedAt -= ms;
            store.put(take, 'unposted').onsuccess = () => { db.close(); resolve(); };
        };
    };
})"""


def download_sha(page: Any, target: Path) -> str:
    with page.expect_download() as download:
        page.get_by_role("link", name="Download ZIP").click()
    download.value.save_as(target)
    return hashlib.sha256(target.read_bytes()).hexdigest()


def watch_dialogs(page: Any, seen: list[str]) -> None:
    """Note the type of every browser dialog (beforeunload, confirm...) and accept it."""

    def note(dialog: Any) -> None:
        seen.append(dialog.type)
        dialog.accept()

    page.on("dialog", note)


def dataset(page: Any) -> dict[str, str]:
    return dict(page.evaluate("() => ({...document.getElementById('recorder').dataset})"))


def test_an_unposted_take_survives_a_reload_and_is_gone_once_posted(
    page: Any, live_server: Any, tmp_path: Path
) -> None:
    dialogs: list[str] = []
    watch_dialogs(page, dialogs)
    page.goto(live_server.url + "/")
    take = record_take(page, 0.8)
    page.locator("#recorder[data-kept=saved]").wait_for()
    assert kept_takes(page) == 1
    before = download_sha(page, tmp_path / "before.zip")
    page.evaluate(_AGE_KEPT_TAKE, 125_000)

    # Leaving with the take unposted warns; the take is back after the reload all the same.
    page.reload()
    assert dialogs == ["beforeunload"]
    page.locator("#recorder[data-ready=true]").wait_for()
    assert dataset(page)["state"] == "recorded"
    notice = page.locator("#take-notice")
    assert notice.get_attribute("data-code") == "restored"
    assert notice.inner_text() == "Your unposted take from 2 minutes ago is back."
    assert int(dataset(page)["takeFrames"]) == take["frames"]
    assert page.locator("#take-summary").inner_text().startswith("Your take: ")
    wait_for_ink(page, "#take", 50)
    assert download_sha(page, tmp_path / "after.zip") == before
    save_screenshot(page, "recorder-restored")

    page.get_by_role("button", name="POST").click()
    page.locator("#posted").wait_for()
    code = page.locator("#posted-link").inner_text().removeprefix("!")
    tape = Tape.objects.get(code=code)
    assert tape.zip_bytes == (tmp_path / "before.zip").stat().st_size
    wait_for_kept_takes(page, 0)

    # Posted: no warning on leaving, and nothing comes back.
    page.reload()
    page.locator("#recorder[data-ready=true]").wait_for()
    assert dialogs == ["beforeunload"]
    assert dataset(page)["state"] == "idle"
    assert page.locator("#take-notice").is_hidden()
    assert canvas_ink(page, "#paper") == 0


def test_record_again_asks_before_an_unposted_take_is_discarded(
    page: Any, live_server: Any
) -> None:
    dialogs: list[str] = []
    watch_dialogs(page, dialogs)
    page.goto(live_server.url + "/")
    record_take(page, 0.5)
    page.locator("#recorder[data-kept=saved]").wait_for()

    again = page.get_by_role("button", name="Record again")
    question = page.get_by_role("dialog", name="Discard this take?")
    again.click()
    question.wait_for()
    assert "It has not been posted." in question.inner_text()
    # The safe answer has the focus, so Enter keeps the take.
    assert page.evaluate("() => document.activeElement.id") == "discard-keep"
    save_screenshot(page, "recorder-discard-dialog")
    question.get_by_role("button", name="Keep").click()
    assert question.is_hidden()
    assert dataset(page)["state"] == "recorded"
    assert page.get_by_role("button", name="POST").is_enabled()
    assert kept_takes(page) == 1

    # Escape keeps it too.
    again.click()
    question.wait_for()
    page.keyboard.press("Escape")
    assert question.is_hidden()
    assert dataset(page)["state"] == "recorded"

    again.click()
    question.get_by_role("button", name="Discard").click()
    page.locator("#recorder[data-state=idle]").wait_for()
    wait_for_kept_takes(page, 0)
    assert page.evaluate("() => document.activeElement.id") == "record"
    # The page's own question, never the browser's window.confirm; and nothing left to warn of.
    page.reload()
    page.locator("#recorder[data-ready=true]").wait_for()
    assert dialogs == []
    assert dataset(page)["state"] == "idle"


def test_a_take_with_nothing_drawn_cannot_be_posted(page: Any, live_server: Any) -> None:
    page.goto(live_server.url + "/")
    page.locator("#recorder[data-ready=true]").wait_for()
    page.get_by_role("button", name="Record").click()
    page.wait_for_timeout(600)
    page.get_by_role("button", name="Stop").click()
    page.locator("#recorder[data-state=recorded]").wait_for()

    reason = page.locator("[data-reason=blank_take]")
    assert reason.is_visible()
    assert reason.inner_text() == (
        "Nothing was drawn in this take, so there is nothing to post. Draw while recording."
    )
    post = page.locator("#post")
    assert post.is_hidden() and post.is_disabled()
    assert page.get_by_role("link", name="Download ZIP").is_hidden()
    assert dataset(page)["blank"] == "true"
    # Nothing worth keeping: not stored, and Record again needs no question.
    assert kept_takes(page) == 0
    save_screenshot(page, "recorder-blank-take")
    page.get_by_role("button", name="Record again").click()
    page.locator("#recorder[data-state=idle]").wait_for()
    assert page.get_by_role("dialog").count() == 0 or page.get_by_role("dialog").is_hidden()

    # Drawn before Record and left alone while recording: a still picture, which may be posted.
    scribble(page, 0.2)
    record_take_without_drawing = page.get_by_role("button", name="Record")
    record_take_without_drawing.click()
    page.wait_for_timeout(300)
    page.get_by_role("button", name="Stop").click()
    page.locator("#recorder[data-state=recorded]").wait_for()
    assert dataset(page)["blank"] == "false"
    assert page.get_by_role("button", name="POST").is_enabled()
    assert reason.is_hidden()


def test_a_browser_that_keeps_nothing_says_so_and_the_take_still_posts(
    page: Any, live_server: Any
) -> None:
    # Storage full (or a private window refusing writes): every write to IndexedDB fails.
    page.add_init_script(
        """IDBObjectStore.prototype.put = function () {
               throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
           };"""
    )
    page.goto(live_server.url + "/")
    record_take(page, 0.5)
    page.locator("#recorder[data-kept=failed]").wait_for()
    notice = page.locator("#take-notice")
    assert notice.get_attribute("data-code") == "keep_failed"
    assert "could not keep a copy of this take" in notice.inner_text()
    save_screenshot(page, "recorder-keep-failed")
    page.get_by_role("button", name="POST").click()
    page.locator("#posted").wait_for()
    assert Tape.objects.count() == 1
    assert notice.is_hidden()
