"""<tape-recorder> when posting fails, with real faults (storage that hangs then goes away, the
site refusing a take too big), and what each state looks like at desktop and phone sizes: every
state is screenshotted and checked for what a person would see wrong."""

from __future__ import annotations

import io
from typing import Any

import pytest
import requests
from django.core.management import call_command

from tapes import services
from tapes.models import Tape
from tapes.storage import storage_for
from tests.recorder import element_page as piece
from tests.recorder.conftest import look, storages_at, wait_for_connection
from tests.support.browser import CspWatch
from tests.support.listeners import silent

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.s3
def test_a_post_that_cannot_reach_storage_fails_keeps_the_take_and_posts_on_try_again(
    tab: Any, whitenoise_server: str, listener: Any, s3_storage: Any, settings: Any
) -> None:
    page, screen = tab, tab.size_name  # once at each of the suite's sizes (desktop, phone)
    other = piece.element_page(listener, whitenoise_server, {"piece": "orbits", "seconds": "10"})
    piece.registered(other)
    # The bucket lets the registered site's pages POST uploads to it (CORS), as in production.
    call_command("tapes_storage_setup", stdout=io.StringIO())
    csp = CspWatch(page)
    piece.open_page(page, other)
    recorder = page.locator("tape-recorder")
    look(page, f"tape-recorder-{screen}-idle")
    recorder.get_by_role("button", name="Record").click()
    piece.wait_state(page, "recording")
    page.wait_for_timeout(500)
    look(page, f"tape-recorder-{screen}-recording")
    recorder.get_by_role("button", name="Stop").click()
    piece.wait_state(page, "recorded")
    look(page, f"tape-recorder-{screen}-recorded")
    recorded = page.evaluate("() => ({bytes: window.recorded.bytes, frames: recorded.frames})")

    # A real fault: the storage the upload form points at takes the connection and never
    # answers (the post hangs in "posting"), then goes away altogether.
    working = settings.STORAGES
    hung = listener(silent())
    settings.STORAGES = storages_at(working, hung.url)
    recorder.get_by_role("button", name="POST").click()
    piece.wait_state(page, "posting")
    page.wait_for_function(
        "() => document.querySelector('tape-recorder').shadowRoot.querySelector('.step')"
        ".textContent.startsWith('Uploading…')"
    )
    wait_for_connection(hung)
    # While it hangs, the way out is Cancel (test_tape_recorder_element_stall_browser.py).
    assert [text for text, _ in look(page, f"tape-recorder-{screen}-posting")] == ["Cancel"]
    hung.close()
    piece.wait_state(page, "failed")
    reason = recorder.get_by_role("alert")
    assert reason.inner_text() == (
        "The server could not be reached. Check your connection, then retry."
    )
    assert reason.get_attribute("data-code") == "network"
    assert "POST FAILED" in piece.shadow_text(page, ".failed")
    retry = recorder.get_by_role("button", name="Try again")
    assert retry.is_visible()
    assert (
        page.evaluate(
            "() => document.querySelector('tape-recorder').shadowRoot.activeElement.className"
        )
        == "retry"
    )
    look(page, f"tape-recorder-{screen}-failed")
    kept = page.evaluate(
        """() => {
            const recorder = document.querySelector('tape-recorder');
            return {take: recorder.take.state, bytes: recorder.result.zip.size};
        }"""
    )
    assert kept == {"take": "failed", "bytes": recorded["bytes"]}
    assert Tape.objects.count() == 0

    settings.STORAGES = working
    retry.click()
    piece.wait_state(page, "posted")
    look(page, f"tape-recorder-{screen}-posted")
    tape = Tape.objects.get()
    assert tape.code == page.evaluate("() => window.answer.code")
    tape = services.tape_zip_take(tape=tape)  # the encode job's first step
    assert storage_for(tape.bucket).size(tape.zip_key) == recorded["bytes"] == tape.zip_bytes
    assert page.evaluate("() => events") == [
        "tape-start",
        "tape-recorded",
        "tape-failed:network",
        "tape-posted",
    ]
    trail = page.evaluate("() => stateTrail()")
    assert trail == [*piece.POSTED_WALK[:-1], "failed", "posting", "posted"]
    assert csp.violations() == []


def test_a_refused_post_says_why_and_try_again_posts_the_same_take(
    page: Any, whitenoise_server: str, listener: Any, settings: Any
) -> None:
    piece.open_piece(page, listener, whitenoise_server)
    piece.record_and_stop(page, 0.5)
    recorder = page.locator("tape-recorder")
    settings.TAPES_UPLOAD_MAX_BYTES = 64  # smaller than any take: the site refuses at once
    recorder.get_by_role("button", name="POST").click()
    piece.wait_state(page, "failed")
    reason = recorder.get_by_role("alert")
    assert reason.get_attribute("data-code") == "upload_too_large"
    assert reason.inner_text() == (
        "This take is too big to post. Record a shorter one. (The limit is 64 bytes.)"
    )
    assert recorder.get_by_role("button", name="Record").count() == 0
    assert Tape.objects.count() == 0

    settings.TAPES_UPLOAD_MAX_BYTES = 100 * 1024 * 1024
    recorder.get_by_role("button", name="Try again").click()
    piece.wait_state(page, "posted")
    tape = Tape.objects.get()
    # The same take, not a new recording: the ZIP posted is the one packed before the refusal.
    assert tape.zip_bytes == page.evaluate("() => window.recorded.bytes")
    assert page.evaluate("() => events") == [
        "tape-start",
        "tape-recorded",
        "tape-failed:upload_too_large",
        "tape-posted",
    ]


def test_a_registration_refused_for_a_while_is_retried_without_sending_the_zip_again(
    page: Any, whitenoise_server: str, listener: Any, settings: Any
) -> None:
    piece.open_piece(page, listener, whitenoise_server)
    piece.record_and_stop(page, 0.5)
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url.split("?")[0]) if r.method == "POST" else None)
    # The site's real throttle on registering (the step after the upload): one post a minute
    # from this address, and that one just spent (the browser is on 127.0.0.1 too).
    rest = settings.REST_FRAMEWORK
    closed = {**rest["DEFAULT_THROTTLE_RATES"], "tape_post": "1/min"}
    settings.REST_FRAMEWORK = {**rest, "DEFAULT_THROTTLE_RATES": closed}
    spent = requests.post(f"{whitenoise_server}/api/tapes", json={}, timeout=10)
    assert spent.status_code == 400, spent.text
    recorder = page.locator("tape-recorder")
    recorder.get_by_role("button", name="POST").click()
    piece.wait_state(page, "failed")
    reason = recorder.get_by_role("alert")
    assert reason.get_attribute("data-code") == "throttled"
    assert reason.inner_text().startswith("Too many posts in a short time. Wait ")
    assert Tape.objects.count() == 0

    settings.REST_FRAMEWORK = rest
    recorder.get_by_role("button", name="Try again").click()
    piece.wait_state(page, "posted")
    assert Tape.objects.count() == 1
    site = whitenoise_server
    # The ZIP went up once: Try again only registered it.
    assert posts == [
        f"{site}/api/tapes/uploads",
        f"{site}/api/tapes/uploads/local",
        f"{site}/api/tapes",
        f"{site}/api/tapes",
    ]
