"""The whole thing in headless Chromium against the real provider: sign in from the header, claim
the tapes this browser posted as a guest, sign out of both the site and the provider."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.base import ContentFile
from playwright.sync_api import expect

from accounts.models import User
from tapes import services
from tapes.models import Tape
from tapes.storage import storage_for
from tests.conftest import tiny_zip
from tests.support.browser import CspWatch
from tests.support.oidc import OidcProvider

pytestmark = pytest.mark.django_db(transaction=True)


def guest_tape() -> tuple[Tape, str]:
    content = tiny_zip()
    ticket = services.tape_upload_start(
        user=None, piece="line", size=len(content), base_url="http://x/"
    )
    storage_for(ticket.upload.bucket).save(ticket.upload.key, ContentFile(content))
    posted = services.tape_post(user=None, slug=ticket.upload.slug, upload_token=ticket.token)
    assert posted.claim_token is not None
    return posted.tape, posted.claim_token


def test_sign_in_claim_and_sign_out_in_a_real_browser(
    page: Any, live_server: Any, auth0: OidcProvider
) -> None:
    auth0.account("auth0|chromium", nickname="chroma", name="Chroma Browser")
    tape, token = guest_tape()
    site = live_server.url
    # Signing out POSTs to the site, which redirects to the provider: form-action allows it.
    csp = CspWatch(page)

    page.goto(site + "/")
    # What the recorder leaves behind after a guest post.
    page.evaluate(
        "entries => localStorage.setItem('tapesite.claims', JSON.stringify(entries))",
        [{"code": tape.code, "token": token}],
    )
    page.click("a.account-signin")
    page.wait_for_url(auth0.issuer + "**")
    page.fill("input[name=login]", "auth0|chromium")
    page.fill("input[name=password]", "whatever")
    page.click("button[type=submit]")
    page.wait_for_url(site + "/")
    assert page.inner_text("a.account-me") == "chroma"
    user = User.objects.get(sub="auth0|chromium")
    assert user.name == "Chroma Browser"

    # The header offers the guest tape; /me claims it when asked.
    offer = page.locator("a.account-claims")
    offer.wait_for(state="visible")
    assert "1 tape" in offer.inner_text()
    offer.click()
    page.wait_for_url(site + "/me#claims")
    # A refused claim says why (the API's message) and keeps the tapes for another try.
    refusal = {"error": {"code": "unavailable", "message": "Claims are paused"}}
    page.route("**/api/tapes/claim", lambda route: route.fulfill(status=503, json=refusal))
    page.click("#claims .claims-button")
    expect(page.locator(".claims-result")).to_have_text(
        "Claiming did not work: Claims are paused. Your tapes are still waiting; try again."
    )
    assert page.locator("#claims").is_visible()
    page.unroute("**/api/tapes/claim")
    page.click("#claims .claims-button")
    page.wait_for_function(
        "code => document.querySelector('.claims-result').dataset.claimed === code", arg=tape.code
    )
    # Nothing left to claim: the outcome stays, the offer and its button go.
    assert page.locator("#claims .claims-button").is_hidden()
    tape.refresh_from_db()
    assert tape.user_id == user.pk
    assert page.evaluate("localStorage.getItem('tapesite.claims')") is None
    page.wait_for_selector(f".me-card[data-code='{tape.code}']")  # the page reloads with it
    # ... and says so once more after the reload.
    expect(page.locator("#claimed-notice")).to_have_text(f"1 tape is now yours: !{tape.code}.")

    # Sign out of both: the provider's page submits itself and sends us home.
    page.click("form.account-signout button")
    page.wait_for_url(site + "/")
    assert page.locator("a.account-signin").is_visible()
    page.click("a.account-signin")
    page.wait_for_url(auth0.issuer + "**")
    assert page.locator("input[name=login]").is_visible()  # the provider asks again
    page.goto(site + "/")
    assert csp.violations() == []


def test_a_browser_without_guest_tapes_is_offered_nothing(
    page: Any, live_server: Any, auth0: OidcProvider
) -> None:
    auth0.account("auth0|plain", nickname="plain")
    page.goto(live_server.url + "/accounts/login/?next=/me")
    page.fill("input[name=login]", "auth0|plain")
    page.fill("input[name=password]", "x")
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/me")
    assert page.locator("#claims").is_hidden()
    assert page.locator("a.account-claims").is_hidden()
    assert json.loads(page.evaluate("JSON.stringify(localStorage.length)")) == 0
