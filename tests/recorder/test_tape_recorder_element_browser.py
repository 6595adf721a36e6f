"""<tape-recorder> (static/tapes/tape-recorder.js) in headless Chromium, used as another website
uses it: the piece's page on a loopback origin of its own, under a strict CSP, imports the element
from the site (whitenoise, as in production) and posts to the live database and storage as a
guest of a registered site. No posting call is faked: failures are real faults."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from sites import services as sites
from tapes.archive import inspect_archive
from tapes.models import Tape
from tapes.storage import storage_for
from tests.recorder.element_page import element_page, open_page
from tests.support.browser import CspWatch, save_screenshot
from tests.support.services import free_port

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


def wait_state(page: Any, state: str, timeout: float = 15_000) -> None:
    page.locator(f"tape-recorder[state={state}]").wait_for(timeout=timeout)


def registered(other: Any) -> None:
    """The piece's site is registered with Tapesite (its origin may post, as guests)."""
    sites.site_create(origin=other.url, name="Orbits")


def record_and_stop(page: Any, seconds: float = 0.6) -> None:
    recorder = page.locator("tape-recorder")
    recorder.get_by_role("button", name="Record").click()
    wait_state(page, "recording")
    page.wait_for_timeout(int(seconds * 1000))
    recorder.get_by_role("button", name="Stop").click()
    wait_state(page, "recorded")


def shadow_text(page: Any, selector: str) -> str:
    return str(
        page.evaluate(
            "(s) => document.querySelector('tape-recorder').shadowRoot.querySelector(s).innerText",
            selector,
        )
    )


def test_record_stop_and_post_as_a_guest(
    page: Any, whitenoise_server: str, listener: Any
) -> None:
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
    assert page.evaluate("() => stateTrail()") == [
        "idle",
        "recording",
        "packing",
        "recorded",
        "posting",
        "posted",
    ]
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
    assert page.evaluate("() => events") == ["tape-start", "tape-recorded", "tape-posted"]
    assert Tape.objects.count() == 1
    assert csp.violations() == []
    assert errors == []
