"""Posting a tape to Bluesky from its page in headless Chromium, on a desktop and on a phone:
the box follows the post through the API while the job runs against the reference PDS, shows
the link card's reason, and deletes the post. Screenshots in artifacts/screenshots/."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from bluesky.models import BlueskyPost
from bluesky.records import COLLECTION
from bluesky.services import bluesky_post_run
from tapes.models import Tape
from tests.support.browser import CspWatch, save_screenshot
from tests.support.pds import Pds, wait_until
from tests.web.conftest import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_owner_posts_a_tape_to_bluesky_from_its_page(
    tab: Any,
    live_server: Any,
    user: Any,
    link: Any,
    ready_tape: Callable[..., Tape],
    pds: Pds,
) -> None:
    _account, remote = link(user)
    tape = ready_tape(user)
    Tape.objects.filter(pk=tape.pk).update(title="Sunset loop")
    csp = CspWatch(tab)
    sign_in(tab, live_server, user)
    tab.goto(f"{live_server.url}/t/{tape.code}")
    box = tab.locator("#bluesky")
    expect(box).to_have_attribute("data-state", "none")
    expect(box.get_by_text("Post this tape to Bluesky")).to_be_visible()
    expect(box.get_by_role("button", name="Try again")).to_be_hidden()
    box.scroll_into_view_if_needed()
    save_screenshot(tab, f"bluesky-tape-box-{tab.size_name}")

    box.get_by_role("button", name="Post to Bluesky").click()
    expect(box).to_have_attribute("data-state", "pending")
    expect(box.get_by_text("Posting to Bluesky…")).to_be_visible()
    expect(box.get_by_role("button", name="Stop posting")).to_be_visible()
    expect(box.get_by_role("button", name="Delete from Bluesky")).to_be_hidden()
    save_screenshot(tab, f"bluesky-tape-posting-{tab.size_name}")

    # The job (here, in the test's process) writes the post; the page follows it by itself.
    assert bluesky_post_run(tape_id=tape.pk).state == "done"
    expect(box).to_have_attribute("data-state", "done", timeout=20_000)
    post = BlueskyPost.objects.get(tape=tape)
    link_to_post = box.get_by_role("link", name="See the post")
    expect(link_to_post).to_have_attribute(
        "href", f"https://bsky.app/profile/{remote.did}/post/{post.rkey}"
    )
    expect(box.locator("#bluesky-fallback")).to_contain_text("posted as a link card")
    expect(box.get_by_role("button", name="Post with the video instead")).to_be_visible()
    box.scroll_into_view_if_needed()
    save_screenshot(tab, f"bluesky-tape-posted-{tab.size_name}")
    assert len(pds.list_records(remote.did, COLLECTION)) == 1

    box.get_by_role("button", name="Delete from Bluesky").click()
    expect(box).to_have_attribute("data-state", "deleting")
    assert bluesky_post_run(tape_id=tape.pk).state == "deleted"
    expect(box).to_have_attribute("data-state", "none", timeout=20_000)
    wait_until(lambda: pds.list_records(remote.did, COLLECTION) == [])
    assert csp.violations() == []


def test_me_shows_the_choice_and_a_failed_post(
    tab: Any, live_server: Any, user: Any, link: Any, ready_tape: Callable[..., Tape]
) -> None:
    link(user)
    tape = ready_tape(user)
    BlueskyPost.objects.create(
        tape=tape, state="failed", code="pds_rejected", message="the PDS said no"
    )
    sign_in(tab, live_server, user)
    tab.goto(f"{live_server.url}/me")
    section = tab.locator("#bluesky")
    section.scroll_into_view_if_needed()
    expect(section.get_by_text("The PDS refused the record.")).to_be_visible()
    section.get_by_label("Post every new public tape to Bluesky").check()
    save_screenshot(tab, f"bluesky-me-{tab.size_name}")
    section.get_by_role("button", name="Save").click()
    expect(tab.locator(".messages")).to_contain_text("posted to Bluesky once their video")
    expect(tab.locator("#bluesky-post-new-tapes")).to_be_checked()
