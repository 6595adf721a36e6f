"""The record page /at/<did>/<collection>/<rkey> against the real reference PDS: a tape's record
as its PDS returns it, its video relayed (ranges too), and clear pages for a record or DID that
does not exist and for a PDS that cannot be reached."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils.html import escape

from federation.links import record_page_url
from tapes.models import Tape
from tests.federation.conftest import COLLECTION, at_of, federate
from tests.support.encoded import Encoded
from tests.support.pds import Pds
from tests.support.plc import plc_create_did
from tests.support.services import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    cache.clear()


def test_a_tapes_record_is_shown_as_its_pds_returns_it_with_its_video(
    client: Client,
    user: Any,
    link: Any,
    ready_tape: Callable[..., Tape],
    pds: Pds,
    encoded: Encoded,
) -> None:
    _account, remote = link(user)
    tape = ready_tape(user)
    federate(tape)
    at = at_of(tape)
    url = record_page_url(at["uri"])
    assert url == f"/at/{remote.did}/{COLLECTION}/{at['rkey']}"
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert at["cid"] in html and at["uri"] in html
    assert f'href="/t/{tape.code}"' in html and "posted from here" in html
    on_pds = pds.get_record(remote.did, COLLECTION, at["rkey"]).json()
    assert page.context["record"].raw == on_pds
    assert escape(json.dumps(on_pds, indent=2, ensure_ascii=False)) in html
    # The PDS is on loopback: no link to an outside viewer that could never reach it.
    assert 'data-field="viewer"' not in html

    video = client.get(f"{url}/blob/video")
    assert video.status_code == 200 and video["Content-Type"] == "video/mp4"
    assert video.content == encoded.mp4
    assert "sandbox" in video["Content-Security-Policy"]
    part = client.get(f"{url}/blob/video", HTTP_RANGE="bytes=0-99")
    assert part.status_code == 206 and part.content == encoded.mp4[:100]
    assert part["Content-Range"] == f"bytes 0-99/{len(encoded.mp4)}"
    thumb = client.get(f"{url}/blob/thumbnail")
    assert thumb.status_code == 200 and thumb["Content-Type"] == "image/webp"
    assert client.get(f"{url}/blob/slug").status_code == 404  # not a blob


def test_a_record_that_does_not_exist_and_an_unknown_did(
    client: Client, user: Any, link: Any, pds: Pds
) -> None:
    _account, remote = link(user)
    missing = client.get(f"/at/{remote.did}/{COLLECTION}/3kzzzzzzzzzzz")
    assert missing.status_code == 404
    assert b'data-code="at_record_not_found"' in missing.content
    unknown = client.get(f"/at/did:plc:{'a' * 24}/{COLLECTION}/3kzzzzzzzzzzz")
    assert unknown.status_code == 404 and b'data-code="at_did_not_found"' in unknown.content
    bad = client.get(f"/at/not-a-did/{COLLECTION}/x")
    assert bad.status_code == 404 and b'data-code="at_address_invalid"' in bad.content


def test_a_pds_that_cannot_be_reached(
    client: Client, settings: Any, atproto_settings: Pds, plc_url: str
) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    settings.TAPES_EGRESS_ALLOWED_ORIGINS = [*settings.TAPES_EGRESS_ALLOWED_ORIGINS, nobody]
    did = plc_create_did(plc_url, pds_endpoint=nobody)
    page = client.get(f"/at/{did}/{COLLECTION}/3kzzzzzzzzzzz")
    assert page.status_code == 502 and b'data-code="at_pds_unreachable"' in page.content
    # A PDS on an internal address that is not allowlisted is refused, not fetched.
    inside = plc_create_did(plc_url, pds_endpoint=f"http://127.0.0.1:{free_port()}")
    refused = client.get(f"/at/{inside}/{COLLECTION}/3kzzzzzzzzzzz")
    assert refused.status_code == 502 and b'data-code="at_pds_refused"' in refused.content


def test_only_a_pds_everyone_can_reach_counts_as_public() -> None:
    from federation.record_page import pds_is_public

    assert not pds_is_public("http://127.0.0.1:2583")
    assert not pds_is_public("https://10.1.2.3")
    assert not pds_is_public("https://[::1]:443")
    assert pds_is_public("https://8.8.8.8")
