"""The AT Protocol pages in headless Chromium, against the real reference PDS: /me/atproto/
before and after creating an account on the site's PDS, and the record page playing a tape's
video relayed from the PDS (desktop and phone screenshots, no CSP violation)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from federation.links import record_page_url
from federation.models import AtprotoAccount, FederationState
from federation.services import tape_federate
from tapes.models import Tape
from tapes.services import tape_edit
from tests.federation.conftest import COLLECTION, at_of, fed_of, federate
from tests.support.browser import CspWatch, save_screenshot
from tests.support.pds import Pds
from tests.web.conftest import sign_in

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}


def overflows(page: Any) -> bool:
    return bool(page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth + 1"))


def test_creating_an_account_on_the_sites_pds_from_the_page(
    page: Any, live_server: Any, user: Any, settings: Any, atproto_settings: Pds
) -> None:
    settings.ATPROTO_PDS_URL = atproto_settings.url
    settings.ATPROTO_PDS_ADMIN_PASSWORD = atproto_settings.admin_password
    csp = CspWatch(page)
    sign_in(page, live_server, user)
    page.goto(live_server.url + "/me/atproto/")
    handle = page.get_by_label("Your handle")
    expect(handle).to_have_value("ada")
    save_screenshot(page, "atproto-unlinked-desktop")
    page.set_viewport_size(PHONE)
    assert not overflows(page)
    save_screenshot(page, "atproto-unlinked-phone")
    page.set_viewport_size({"width": 1280, "height": 800})

    name = f"ada{secrets.token_hex(2)}"
    handle.fill(name)
    page.get_by_role("button", name="Create and link").click()
    expect(page.locator("[data-done=created]")).to_contain_text(f"@{name}.test")
    expect(page.locator('[data-field="handle"]')).to_have_text(f"@{name}.test")
    assert AtprotoAccount.objects.get(user=user).handle == f"{name}.test"
    save_screenshot(page, "atproto-linked-desktop")
    page.set_viewport_size(PHONE)
    assert not overflows(page)
    save_screenshot(page, "atproto-linked-phone")
    assert csp.violations() == []


def test_the_record_page_plays_the_tapes_video_from_the_pds(
    page: Any,
    live_server: Any,
    user: Any,
    link: Any,
    ready_tape: Callable[..., Tape],
) -> None:
    link(user)
    tape = ready_tape(user)
    tape_edit(
        tape=tape,
        actor=user,
        title="Orange line at dusk",
        description="Drawn on the bus home.",
        alt_text="An orange line sweeps across a dark canvas.",
    )
    tape.refresh_from_db()
    federate(tape)
    url = record_page_url(at_of(tape)["uri"])
    assert url is not None
    csp = CspWatch(page)
    page.goto(live_server.url + url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Orange line at dusk")
    video = page.locator("video[data-at-video]")
    page.wait_for_function(
        "() => { const v = document.querySelector('video[data-at-video]');"
        " return v && v.readyState >= 1 && v.duration > 0; }"
    )
    duration = video.evaluate("v => v.duration")
    assert abs(duration * 1000 - tape.duration_ms) < 150, duration
    video.evaluate("v => { v.muted = true; return v.play(); }")
    page.wait_for_function(
        "() => document.querySelector('video[data-at-video]').currentTime > 0.05"
    )
    expect(page.get_by_role("link", name=f"Tape !{tape.code}")).to_have_attribute(
        "href", f"/t/{tape.code}"
    )
    video.evaluate("v => { v.pause(); v.currentTime = 0; }")
    save_screenshot(page, "at-record-desktop")
    page.set_viewport_size(PHONE)
    assert not overflows(page)
    save_screenshot(page, "at-record-phone")
    page.goto(live_server.url + url.rsplit("/", 1)[0] + "/3kzzzzzzzzzzz")
    expect(page.locator("[data-code=at_record_not_found]")).to_be_visible()
    save_screenshot(page, "at-record-not-found-phone")
    assert csp.violations() == []


def test_the_owner_edits_on_the_page_and_the_record_on_the_pds_follows(
    page: Any,
    live_server: Any,
    user: Any,
    link: Any,
    ready_tape: Callable[..., Tape],
    pds: Pds,
) -> None:
    _account, remote = link(user)
    tape = ready_tape(user)
    assert federate(tape).state == FederationState.DONE
    before = at_of(tape)
    sign_in(page, live_server, user)
    page.goto(f"{live_server.url}/t/{tape.code}")
    page.get_by_text("Edit title, description, alt text and visibility").click()
    page.get_by_label("Title").fill("Edited on the page")
    page.get_by_label("Alt text").fill("Three red squares")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("h1")).to_have_text("Edited on the page")
    # The federate job's work, as the worker would run it off the queue.
    assert fed_of(tape).state == FederationState.PENDING
    assert tape_federate(tape_id=tape.pk).state == FederationState.DONE
    after = at_of(tape)
    assert after["rkey"] == before["rkey"] and after["cid"] != before["cid"]
    got = pds.get_record(remote.did, COLLECTION, before["rkey"]).json()
    value = got["value"]
    assert (value["title"], value["alt"]) == ("Edited on the page", "Three red squares")
    # The page's record link opens the site's record page, which shows the new words.
    page.get_by_role("link", name=after["uri"]).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Edited on the page")

    # Unlisted from the page: the record leaves the PDS.
    page.goto(f"{live_server.url}/t/{tape.code}")
    page.get_by_text("Edit title, description, alt text and visibility").click()
    page.get_by_label("Unlisted: only people with its code or link").check()
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".badge-unlisted")).to_be_visible()
    tape_federate(tape_id=tape.pk)
    assert pds.get_record(remote.did, COLLECTION, before["rkey"]).status_code == 400
