"""The recorder page when a post hangs (storage, a real loopback listener, takes the upload's
connection and never answers): Cancel gives the take back as it was, kept in the browser, and POST
then sends it; left alone, the post fails as stalled after the library's 30 s, shown as any other
failure, and Retry sends it. Exactly one Tape row each. Headless Chromium against the live server
and real S3 storage (SeaweedFS)."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from tapes.models import Tape
from tests.recorder.conftest import storages_at, wait_for_connection
from tests.support.browser import CspWatch, save_screenshot
from tests.support.listeners import Listener, silent
from tests.web.conftest import kept_takes, record_take

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.s3]

STALLED = "The upload stalled: storage took it but stopped answering. Try again."
CANCELLED = "Posting cancelled. Your take is kept: POST it when you are ready."

# The recorder's take panel and post panel: the buttons shown (text, height), and whether the
# page scrolls sideways.
LAYOUT = """() => {
    const shown = [...document.querySelectorAll(
        '#take-panel :is(button, .button), #post-panel :is(button, .button)')]
        .filter((el) => el.getClientRects().length > 0);
    return {
        buttons: shown.map((el) => [el.innerText, Math.round(el.getBoundingClientRect().height)]),
        sideways: document.documentElement.scrollWidth > window.innerWidth,
    };
}"""


def hanging_storage(page: Any, live_server: Any, listener: Any, settings: Any) -> Listener:
    """A listener that takes connections and never answers, which the recorder page may send to
    (the site's policy names the storage origins it was loaded with: the real one, which the
    post uses once storage works again, and this one); the bucket open to the page (CORS)."""
    hung = listener(silent())
    policy = settings.CONTENT_SECURITY_POLICY
    connect = [*policy["connect-src"], hung.url]
    settings.CONTENT_SECURITY_POLICY = {**policy, "connect-src": connect}
    call_command("tapes_storage_setup", "--cors-origin", live_server.url, stdout=io.StringIO())
    return hung


def post_into(page: Any, hung: Listener, settings: Any) -> dict[str, Any]:
    """Point storage at ``hung``, press POST, wait until the upload hangs there; returns the
    storages to put back."""
    working: dict[str, Any] = settings.STORAGES
    settings.STORAGES = storages_at(working, hung.url)
    page.get_by_role("button", name="POST").click()
    page.locator("#recorder[data-state=posting]").wait_for()
    wait_for_connection(hung)
    page.wait_for_function(
        "() => document.getElementById('post-step').textContent.startsWith('Uploading…')"
    )
    return working


def test_cancel_while_the_upload_hangs_then_post_sends_the_take_once(
    tab: Any, live_server: Any, listener: Any, s3_storage: Any, settings: Any, tmp_path: Path
) -> None:
    page, screen = tab, tab.size_name  # once at each of the suite's sizes (desktop, phone)
    hung = hanging_storage(page, live_server, listener, settings)
    csp = CspWatch(page)
    page.goto(live_server.url + "/")
    record_take(page, 0.6)
    page.locator("#recorder[data-kept=saved]").wait_for()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download ZIP").click()
    download.value.save_as(tmp_path / "take.zip")
    size = (tmp_path / "take.zip").stat().st_size

    working = post_into(page, hung, settings)
    cancel = page.get_by_role("button", name="Cancel")
    assert cancel.is_visible() and cancel.is_enabled()
    save_screenshot(page, f"recorder-{screen}-posting-cancel")
    layout = page.evaluate(LAYOUT)
    assert [text for text, _ in layout["buttons"]] == ["Download ZIP", "Record again", "Cancel"]
    assert all(height >= 44 for _, height in layout["buttons"]), layout
    assert not layout["sideways"]

    cancel.click()
    page.locator("#recorder[data-state=recorded]").wait_for(timeout=3_000)
    notice = page.locator("#take-notice")
    assert notice.get_attribute("data-code") == "post_cancelled"
    assert notice.inner_text() == CANCELLED
    assert page.locator("#failed").is_hidden()
    assert page.evaluate("() => document.activeElement.id") == "post"
    save_screenshot(page, f"recorder-{screen}-cancelled")
    assert Tape.objects.count() == 0
    assert kept_takes(page) == 1  # still kept in the browser: nothing was posted

    settings.STORAGES = working
    page.get_by_role("button", name="POST").click()
    page.locator("#posted").wait_for()
    code = page.locator("#posted-link").inner_text().removeprefix("!")
    tape = Tape.objects.get()
    assert tape.code == code
    assert tape.zip_bytes == size  # the take that was cancelled, not a new one
    assert notice.is_hidden()
    assert hung.connections >= 1
    assert csp.violations() == []


def test_a_post_that_stalls_fails_as_any_other_and_retry_sends_it(
    page: Any, live_server: Any, listener: Any, s3_storage: Any, settings: Any
) -> None:
    hung = hanging_storage(page, live_server, listener, settings)
    page.goto(live_server.url + "/")
    record_take(page, 0.5)
    started = time.monotonic()
    working = post_into(page, hung, settings)
    # The library's default window (30 s): the page sets none of its own.
    page.locator("#recorder[data-state=failed]").wait_for(timeout=45_000)
    waited = time.monotonic() - started
    assert 30 <= waited < 40, waited
    failed = page.locator("#failed")
    assert failed.get_by_text("POST FAILED").is_visible()
    reason = page.locator("#failed-reason")
    assert reason.get_attribute("data-code") == "upload_stalled"
    assert reason.inner_text() == STALLED
    assert page.evaluate("() => document.activeElement.id") == "retry"
    save_screenshot(page, "recorder-stalled")
    assert Tape.objects.count() == 0

    settings.STORAGES = working
    page.get_by_role("button", name="Retry").click()
    page.locator("#posted").wait_for()
    assert Tape.objects.count() == 1
