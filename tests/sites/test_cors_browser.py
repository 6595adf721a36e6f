"""CORS as a real browser sees it: a page on another origin reads the API's refusal when
unregistered, and its answers once registered, preflight included (a JSON body always
preflights)."""

from __future__ import annotations

from typing import Any

import pytest

from sites import services
from tapes.models import TapeUpload
from tests.support.listeners import respond

pytestmark = pytest.mark.django_db(transaction=True)

CALL = """async (url) => {
    try {
        const response = await fetch(url, {
            method: "POST",
            credentials: "omit",
            headers: {"Content-Type": "application/json"},
            body: JSON.stringify({piece: "orbit", bytes: 100}),
        });
        return {status: response.status, body: await response.json()};
    } catch (error) {
        return {status: 0, body: String(error)};
    }
}"""


def test_a_page_on_another_origin_reads_the_refusal_then_posts_once_registered(
    page: Any, live_server: Any, listener: Any
) -> None:
    # Another website: a bare page on a loopback port of its own (no Tapesite CSP, whose
    # connect-src is 'self'; on loopback, so Chromium's local network rules let it call us).
    other = listener(
        respond(
            body=b"<!doctype html><title>Pieces</title><p>A piece.</p>",
            headers={"Content-Type": "text/html"},
        )
    )
    page_origin = other.url
    api = f"{live_server.url}/api/tapes/uploads"
    page.goto(f"{page_origin}/")

    refused = page.evaluate(CALL, api)
    assert refused["status"] == 403, refused
    assert refused["body"]["error"]["code"] == "origin_not_registered"
    assert page_origin in refused["body"]["error"]["message"]
    assert not TapeUpload.objects.exists()

    site = services.site_create(origin=page_origin, name="Pieces")
    started = page.evaluate(CALL, api)
    assert started["status"] == 201, started
    assert started["body"]["slug"].startswith("orbit-")
    assert TapeUpload.objects.get().site == site

    services.site_suspend(site=site)
    suspended = page.evaluate(CALL, api)
    assert suspended["status"] == 403
    assert suspended["body"]["error"]["code"] == "site_suspended"
