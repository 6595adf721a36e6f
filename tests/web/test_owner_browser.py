"""Owners in headless Chromium, on a desktop and on a phone with touch: edit, unlist, delete
with a confirmation and undo it; a guest deleting from the browser that holds the claim token."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tapes import services
from tapes.models import Tape
from tests.conftest import SIZES
from tests.support.browser import save_screenshot
from tests.web.conftest import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def click(page: Any, locator: Any) -> None:
    # A phone taps; a desktop clicks.
    if page.size_name == "phone":
        locator.tap()
    else:
        locator.click()


def test_the_owner_edits_unlists_deletes_and_undoes(
    tab: Any, live_server: Any, make_tape: Any, small_encoded: Any, user: Any
) -> None:
    tape = make_tape(encoded=small_encoded, user=user)
    sign_in(tab, live_server, user)
    tab.goto(f"{live_server.url}/t/{tape.code}")
    click(tab, tab.get_by_text("Edit title, description, alt text and visibility"))
    tab.get_by_label("Title").fill("Sunset loop")
    tab.get_by_label("Description").fill("Drawn with a finger.\nTwice.")
    tab.get_by_label("Alt text").fill("An orange sun sinking behind purple hills")
    tab.get_by_label("Unlisted: only people with its code or link").check()
    save_screenshot(tab, f"owner-edit-{tab.size_name}")
    click(tab, tab.get_by_role("button", name="Save"))
    expect(tab.locator("h1")).to_have_text("Sunset loop")
    expect(tab.locator(".tape-description")).to_contain_text("Drawn with a finger.")
    expect(tab.locator(".badge-unlisted").first).to_be_visible()
    expect(tab.locator(".messages")).to_contain_text("Saved.")
    save_screenshot(tab, f"owner-tape-{tab.size_name}")
    saved = Tape.objects.get(pk=tape.pk)
    assert (saved.title, saved.visibility, saved.revision) == ("Sunset loop", "unlisted", 1)

    # Unlisted: out of the gallery for everyone (the owner included), still there by code.
    tab.goto(f"{live_server.url}/tapes")
    expect(tab.locator(f"a[href='/t/{tape.code}']")).to_have_count(0)

    # Delete asks first; "Keep it" keeps it.
    tab.goto(f"{live_server.url}/t/{tape.code}")
    click(tab, tab.get_by_role("link", name="Delete this tape…"))
    expect(tab.get_by_role("heading", level=1)).to_contain_text(f"Delete !{tape.code}")
    save_screenshot(tab, f"owner-delete-confirm-{tab.size_name}")
    click(tab, tab.get_by_role("link", name="Keep it"))
    tab.wait_for_url(f"**/t/{tape.code}")
    assert not Tape.objects.get(pk=tape.pk).nuked
    click(tab, tab.get_by_role("link", name="Delete this tape…"))
    click(tab, tab.get_by_role("button", name="Delete"))
    tab.wait_for_url("**/me")
    expect(tab.locator(".messages")).to_contain_text(f"Deleted !{tape.code}")
    assert Tape.objects.get(pk=tape.pk).nuked
    deleted = tab.locator(f".me-card-deleted[data-code='{tape.code}']")
    expect(deleted).to_contain_text("Sunset loop")
    save_screenshot(tab, f"me-deleted-{tab.size_name}")
    assert tab.goto(f"{live_server.url}/t/{tape.code}").status == 404

    tab.goto(f"{live_server.url}/me")
    click(tab, deleted.get_by_role("button", name="Restore"))
    expect(tab.locator(".messages")).to_contain_text(f"Restored !{tape.code}")
    assert not Tape.objects.get(pk=tape.pk).nuked
    expect(tab.locator(f".me-card[data-code='{tape.code}']")).to_have_count(1)
    save_screenshot(tab, f"me-dashboard-{tab.size_name}")


def test_me_lists_tapes_as_cards_with_their_actions(
    tab: Any, live_server: Any, make_tape: Any, user: Any
) -> None:
    ready = make_tape(media=True, user=user, title="Ready one")
    failed = make_tape(
        user=user, status="failed", failure_code="archive_empty", failure_message="No frames."
    )
    sign_in(tab, live_server, user)
    tab.goto(f"{live_server.url}/me")
    card = tab.locator(f".me-card[data-code='{ready.code}']")
    expect(card.locator("img")).to_be_visible()
    expect(card).to_contain_text("Ready")
    bad = tab.locator(f".me-card[data-code='{failed.code}']")
    expect(bad).to_contain_text("No frames.")
    expect(bad.get_by_role("button", name="Retry")).to_be_visible()
    # One click unlists from the dashboard and comes back to it.
    click(tab, card.get_by_role("button", name="Unlist"))
    tab.wait_for_url("**/me")
    expect(card.locator(".badge-unlisted")).to_be_visible()
    assert Tape.objects.get(pk=ready.pk).visibility == "unlisted"
    overflow = tab.evaluate("() => document.documentElement.scrollWidth > window.innerWidth + 1")
    assert not overflow, "the dashboard is wider than the screen"
    save_screenshot(tab, f"me-cards-{tab.size_name}")


def test_a_guest_deletes_from_the_browser_holding_the_claim_token(
    tab: Any, live_server: Any, make_tape: Any, small_encoded: Any
) -> None:
    tape = make_tape(encoded=small_encoded)
    token = services.claim_token_issue(tape=tape)
    stranger = make_tape(encoded=small_encoded)
    services.claim_token_issue(tape=stranger)
    tab.goto(live_server.url + "/tapes")
    tab.evaluate(
        "([code, token]) => localStorage.setItem('tapesite.claims',"
        " JSON.stringify([{code, token}]))",
        [tape.code, token],
    )
    # Another guest's tape offers nothing to this browser.
    tab.goto(f"{live_server.url}/t/{stranger.code}")
    expect(tab.locator("#guest-panel")).to_be_hidden()

    tab.goto(f"{live_server.url}/t/{tape.code}")
    expect(tab.locator("#guest-panel")).to_be_visible()
    click(tab, tab.get_by_role("button", name="Delete this tape…"))
    dialog = tab.locator("#guest-delete-dialog")
    expect(dialog).to_be_visible()
    save_screenshot(tab, f"guest-delete-dialog-{tab.size_name}")
    click(tab, dialog.get_by_role("button", name="Keep it"))
    expect(dialog).to_be_hidden()
    assert not Tape.objects.get(pk=tape.pk).nuked
    click(tab, tab.get_by_role("button", name="Delete this tape…"))
    click(tab, dialog.get_by_role("button", name="Delete"))
    expect(tab.locator("#tape")).to_have_attribute("data-deleted", "true")
    expect(tab.locator("#deleted-notice")).to_be_visible()
    expect(tab.locator("#deleted-notice")).to_contain_text(f"Deleted !{tape.code}")
    expect(tab.locator("#screen")).to_be_hidden()
    assert Tape.objects.get(pk=tape.pk).nuked
    save_screenshot(tab, f"guest-deleted-{tab.size_name}")
    click(tab, tab.get_by_role("button", name="Undo"))
    tab.wait_for_load_state()
    expect(tab.locator("#guest-panel")).to_be_visible()
    assert not Tape.objects.get(pk=tape.pk).nuked


def test_a_phone_shares_the_tape_page_with_the_system_sheet(
    browser: Any, live_server: Any, make_tape: Any, small_encoded: Any, user: Any
) -> None:
    # A video that really plays: a missing one would move the button while it is tapped.
    tape = make_tape(encoded=small_encoded, user=user, title="Share me")
    context = browser.new_context(**SIZES["phone"])
    try:
        page = context.new_page()
        page.add_init_script(
            "window.__shared = []; navigator.share = async (d) => { window.__shared.push(d); };"
        )
        page.goto(f"{live_server.url}/t/{tape.code}")
        share = page.get_by_role("button", name="Share…")
        expect(share).to_be_visible()
        share.tap()
        page.wait_for_function("() => window.__shared.length === 1")
        shared = page.evaluate("() => window.__shared[0]")
        assert shared["url"].endswith(f"/t/{tape.code}")
        assert shared["title"] == "Share me"
        # Without the API, only "Copy link" is offered.
        plain = context.new_page()
        plain.goto(f"{live_server.url}/t/{tape.code}")
        expect(plain.locator("#copy-link")).to_be_visible()
        expect(plain.locator("#share-tape")).to_be_hidden()
    finally:
        context.close()
