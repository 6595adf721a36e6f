"""The /claim page and a tape's provenance in headless Chromium, on a desktop and on a phone:
a guest's "keep it: claim on Tapesite" link from another site keeps the token in this browser
(never sent to the server), asks to sign in, then offers the claim and claims only when asked."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import expect

from tapes import services
from tapes.models import Tape
from tests.sites.factories import SiteFactory
from tests.support.browser import save_screenshot
from tests.web.conftest import sign_in

pytestmark = pytest.mark.django_db(transaction=True)

# `tab` (tests/conftest.py): a fresh page at desktop and at phone size.


def heading(page: Any, name: str) -> Any:
    # By its accessible name: the words of the other states are in the heading, hidden.
    return page.get_by_role("heading", level=1, name=name, exact=True)


def stored_claims(page: Any) -> list[dict[str, Any]]:
    return list(json.loads(page.evaluate("localStorage.getItem('tapesite.claims') || '[]'")))


def test_a_claim_link_keeps_the_token_asks_to_sign_in_then_offers_the_claim(
    tab: Any, live_server: Any, make_tape: Any, user: Any
) -> None:
    tape = make_tape(media=True, title="Orbit")
    token = services.claim_token_issue(tape=tape)
    seen_paths: list[str] = []
    tab.on("request", lambda request: seen_paths.append(request.url))

    tab.goto(f"{live_server.url}/claim?code={tape.code}#token={token}")
    expect(tab.locator("#claim")).to_have_attribute("data-state", "kept")
    expect(heading(tab, f"Sign in to keep !{tape.code}")).to_be_visible()
    signin = tab.get_by_role("link", name=f"Sign in to keep !{tape.code}")
    expect(signin).to_be_visible()
    assert "next=%2Fclaim%3Fcode%3D" in str(signin.get_attribute("href"))
    signup = tab.get_by_role("link", name="Sign up to keep it")
    expect(signup).to_be_visible()
    assert "next=%2Fclaim%3Fcode%3D" in str(signup.get_attribute("href"))
    # Kept where claims.js looks, and out of the address bar; never sent anywhere.
    assert stored_claims(tab) == [{"code": tape.code, "token": token}]
    assert "#" not in tab.url and tab.url.endswith(f"/claim?code={tape.code}")
    assert not any(token in url for url in seen_paths)
    save_screenshot(tab, f"claim-signed-out-{tab.size_name}")

    sign_in(tab, live_server, user)
    tab.goto(f"{live_server.url}/claim?code={tape.code}")
    expect(tab.locator("#claim")).to_have_attribute("data-state", "kept")
    expect(heading(tab, f"Keep !{tape.code}")).to_be_visible()
    offer = tab.locator("#claims")
    expect(offer).to_have_attribute("data-state", "waiting")
    expect(offer).to_contain_text("1 tape posted from this browser can become yours")
    # The offer sits under the card in the same column, edge to edge.
    card, under = tab.locator("#claim").bounding_box(), offer.bounding_box()
    assert card and under and abs(card["width"] - under["width"]) < 1, (card, under)
    assert under["y"] > card["y"] + card["height"]
    save_screenshot(tab, f"claim-offer-{tab.size_name}")
    # Nothing is claimed until the person says so.
    assert Tape.objects.get(pk=tape.pk).user_id is None

    tab.get_by_role("button", name="Make them mine").click()
    expect(tab.locator("#claim")).to_have_attribute("data-state", "yours", timeout=20_000)
    expect(heading(tab, f"!{tape.code} is yours")).to_be_visible()
    assert Tape.objects.get(pk=tape.pk).user_id == user.pk
    assert stored_claims(tab) == []
    save_screenshot(tab, f"claim-done-{tab.size_name}")


def test_a_link_without_its_token_says_what_to_do(
    tab: Any, live_server: Any, make_tape: Any
) -> None:
    tape = make_tape(media=True)
    tab.goto(f"{live_server.url}/claim?code={tape.code}")
    expect(tab.locator("#claim")).to_have_attribute("data-state", "missing")
    expect(heading(tab, f"No claim token for !{tape.code} here")).to_be_visible()
    expect(tab.locator("#claim")).to_contain_text(
        f"This browser holds no claim token for !{tape.code}"
    )
    save_screenshot(tab, f"claim-missing-{tab.size_name}")


def test_the_tape_page_says_where_the_tape_was_recorded(
    tab: Any, live_server: Any, make_tape: Any
) -> None:
    site = SiteFactory.create(origin="https://pieces.example", name="Pieces of Code")
    tape = make_tape(
        media=True,
        site=site,
        origin=site.origin,
        piece_url="https://pieces.example/orbit?speed=3",
        source="https://github.example/pieces/orbit.js",
        seed="8f14e45fceea167a",
    )
    tab.goto(f"{live_server.url}/t/{tape.code}")
    line = tab.locator("#tape-provenance")
    expect(line).to_contain_text("Recorded from draw on Pieces of Code.")
    expect(line).to_contain_text("Source: https://github.example/pieces/orbit.js")
    expect(line).to_contain_text("Seed: 8f14e45fceea167a")
    piece = line.get_by_role("link", name="draw")
    assert piece.get_attribute("href") == "https://pieces.example/orbit?speed=3"
    for link in line.get_by_role("link").all():
        assert link.get_attribute("rel") == "nofollow ugc noopener"
    save_screenshot(tab, f"tape-provenance-{tab.size_name}")
