"""The pages as the server renders them (no browser): status codes, share tags, paging."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import pytest

from tapes.archive import CODES, ArchiveLimits
from tapes.models import TapeStatus
from tests.federation.factories import TapeFederationFactory

pytestmark = pytest.mark.django_db


def meta(html: str, key: str) -> str | None:
    found = re.search(rf'<meta (?:property|name)="{re.escape(key)}" content="([^"]*)"', html)
    return found.group(1) if found else None


def script_json(html: str, element_id: str) -> Any:
    found = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html)
    assert found, element_id
    return json.loads(found.group(1))


def test_recorder_hands_its_settings_to_the_page(client: Any, settings: Any) -> None:
    settings.TAPES_RECORD_LIMIT_SECONDS = 5
    response = client.get("/")
    assert response.status_code == 200
    config = script_json(response.content.decode(), "recorder-config")
    assert config["limitSeconds"] == 5
    assert (config["width"], config["height"]) == (256, 192)
    assert config["uploadsUrl"] == "/api/tapes/uploads"
    assert config["tapesUrl"] == "/api/tapes"
    assert config["errors"]["upload_too_large"]
    assert "csrftoken" in response.cookies  # the page's posts send it back as X-CSRFToken


def test_recorder_never_promises_more_than_the_archive_accepts(client: Any, settings: Any) -> None:
    settings.TAPES_RECORD_LIMIT_SECONDS = 300
    settings.TAPES_ARCHIVE_LIMITS = {"max_duration_ms": 30_000}
    config = script_json(client.get("/").content.decode(), "recorder-config")
    assert config["limitSeconds"] == 30


def test_recorder_hands_open_a_tape_the_servers_limits_and_words(
    client: Any, settings: Any
) -> None:
    settings.TAPES_ARCHIVE_LIMITS = {"MAX_FRAMES": 900, "max_base_width": 512}
    settings.TAPES_UPLOAD_MAX_BYTES = 5_000_000
    config = script_json(client.get("/").content.decode(), "recorder-config")
    expected = dataclasses.asdict(ArchiveLimits.from_settings(settings.TAPES_ARCHIVE_LIMITS))
    assert config["archiveLimits"] == expected
    assert config["archiveLimits"]["max_frames"] == 900
    assert config["uploadMaxBytes"] == 5_000_000
    # A plain sentence for every code the checker (and the server) can refuse with.
    assert set(config["openWords"]) == set(CODES)
    assert all(words.endswith(".") for words in config["openWords"].values())


def test_a_ready_tape_unfurls(client: Any, make_tape: Any, user: Any) -> None:
    tape = make_tape(user=user, media=True)
    response = client.get(f"/t/{tape.code}")
    assert response.status_code == 200
    html = response.content.decode()
    base = "http://testserver"
    assert meta(html, "og:url") == f"{base}/t/{tape.code}"
    assert meta(html, "og:type") == "video.other"
    assert meta(html, "og:title") == f"!{tape.code} · draw"
    assert meta(html, "og:image") == f"{base}/api/tapes/{tape.code}/media/thumbnail"
    assert meta(html, "og:video") == f"{base}/api/tapes/{tape.code}/media/mp4"
    assert meta(html, "og:video:type") == "video/mp4"
    assert (meta(html, "og:video:width"), meta(html, "og:video:height")) == (
        str(tape.width),
        str(tape.height),
    )
    assert meta(html, "twitter:card") == "player"  # the embed plays in the post (test_embeds)
    assert meta(html, "twitter:image") == meta(html, "og:image")
    assert "Ada Lovelace" in (meta(html, "og:description") or "")
    assert 'id="tape-video"' in html
    assert f'poster="{base}/api/tapes/{tape.code}/media/thumbnail"' in html
    assert 'href="/u/ada"' in html


def test_a_tape_still_processing_has_no_video_to_share_yet(client: Any, make_tape: Any) -> None:
    tape = make_tape(status=TapeStatus.PROCESSING, progress=40, frames=None, duration_ms=None)
    html = client.get(f"/t/{tape.code}").content.decode()
    assert meta(html, "og:video") is None
    assert meta(html, "og:image") is None
    assert meta(html, "twitter:card") == "summary"
    assert 'id="tape-frames"' in html  # the page plays the ZIP instead
    state = script_json(html, "tape-state")
    assert state["status"] == "processing"
    assert state["progress"] == 40
    assert state["media"]["zip"].endswith(f"/api/tapes/{tape.code}/media/zip")
    assert state["api_url"] == f"/api/tapes/{tape.code}"
    assert "Becoming a video" in html
    assert "a guest" in html


def test_a_failed_tape_says_why_and_offers_its_owner_and_moderators_a_retry(
    client: Any, make_tape: Any, user: Any, other_user: Any, staff: Any, moderator: Any
) -> None:
    tape = make_tape(
        user=user, status=TapeStatus.FAILED, failure_code="validation_corrupt", failure_message="x"
    )
    for stranger in (other_user, staff):  # staff without tapes.change_tape may not retry
        client.force_login(stranger)
        html = client.get(f"/t/{tape.code}").content.decode()
        assert "could not be read: it is damaged or not a tape" in html
        assert 'id="retry-encode"' not in html
        assert script_json(html, "tape-state")["may_retry"] is False
    for allowed in (user, moderator):
        client.force_login(allowed)
        html = client.get(f"/t/{tape.code}").content.decode()
        assert 'id="retry-encode"' in html
        assert script_json(html, "tape-state")["may_retry"] is True


def test_the_at_protocol_record_is_linked_when_federated(client: Any, make_tape: Any) -> None:
    uri = "at://did:plc:abc/computer.aesthetic.tape/3kxyz"
    tape = make_tape()
    TapeFederationFactory.create(tape=tape, federated=True, rkey="3kxyz")
    html = client.get(f"/t/{tape.code}").content.decode()
    # The site's own record page (it offers the external viewer when the PDS is public).
    assert f'href="/at/did:plc:abc/computer.aesthetic.tape/3kxyz">{uri}</a>' in html


@pytest.mark.parametrize("path", ["/t/nope", "/!nope", "/%23nope"])
def test_unknown_codes_get_the_friendly_404(client: Any, path: str) -> None:
    response = client.get(path, follow=True)
    assert response.status_code == 404
    html = response.content.decode()
    assert "No tape has the code !nope" in html
    assert 'class="code-box"' in html
    assert 'value="nope"' in html


def test_a_nuked_tape_is_not_found(client: Any, make_tape: Any) -> None:
    tape = make_tape(nuked=True)
    response = client.get(f"/t/{tape.code}")
    assert response.status_code == 404
    assert f"No tape has the code !{tape.code}" in response.content.decode()


def test_short_forms_lead_to_the_tape(client: Any, make_tape: Any) -> None:
    tape = make_tape()
    for path in (f"/!{tape.code}", f"/%23{tape.code}"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"] == f"/t/{tape.code}"


@pytest.mark.parametrize("typed", ["bop", "!bop", "#bop", " /t/bop "])
def test_the_code_box_works_without_scripts(client: Any, typed: str) -> None:
    response = client.get("/go", {"code": typed})
    assert response.status_code == 302
    assert response["Location"] == "/t/bop"


def test_the_code_box_explains_a_bad_code(client: Any) -> None:
    response = client.get("/go", {"code": "what is this?"})
    assert response.status_code == 404
    assert "That is not a tape code" in response.content.decode()


@pytest.mark.parametrize("path", ["/go", "/claim", "/glow", "/"])
def test_the_pages_only_read(client: Any, path: str) -> None:
    assert client.post(path, {"code": "bop"}).status_code == 405


def test_every_unknown_page_gets_the_site_404(client: Any) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    html = response.content.decode()
    assert "This page does not exist" in html
    assert 'class="code-box"' in html


def test_an_empty_gallery_says_what_to_do(client: Any) -> None:
    html = client.get("/tapes").content.decode()
    assert "No tapes yet" in html
    assert 'href="/"' in html


def test_the_gallery_pages_with_a_cursor(client: Any, make_tape: Any) -> None:
    tapes = [make_tape(media=True, ago=i) for i in range(30)]  # tapes[0] is the newest
    hidden = make_tape(nuked=True)
    html = client.get("/tapes").content.decode()
    codes = re.findall(r'class="card-code">!(\w+)<', html)
    assert codes == [t.code for t in tapes[:24]]
    more = re.search(r'class="more button" href="([^"]+)"', html)
    assert more
    following = client.get(more.group(1).replace("&amp;", "&")).content.decode()
    assert re.findall(r'class="card-code">!(\w+)<', following) == [t.code for t in tapes[24:]]
    assert 'class="more button"' not in following
    assert hidden.code not in html + following
    partial = client.get(more.group(1).replace("&amp;", "&") + "&partial=1").content.decode()
    assert "<html" not in partial
    assert len(re.findall(r'class="card"', partial)) == 6


def test_a_cursor_we_did_not_make_starts_over(client: Any) -> None:
    response = client.get("/tapes", {"cursor": "forged"})
    assert response.status_code == 302
    assert response["Location"] == "/tapes"


def test_a_user_page_lists_only_their_visible_tapes(
    client: Any, make_tape: Any, user: Any, other_user: Any
) -> None:
    mine = make_tape(user=user, media=True)
    make_tape(user=other_user)
    make_tape(user=user, nuked=True)
    html = client.get("/u/ada").content.decode()
    assert re.findall(r'class="card-code">!(\w+)<', html) == [mine.code]
    assert "<h1>Ada Lovelace's tapes</h1>" in html


def test_user_pages_have_empty_states_and_a_404(client: Any, user: Any) -> None:
    assert "has not posted a tape yet" in client.get("/u/ada").content.decode()
    client.force_login(user)
    assert "You have not posted a tape yet" in client.get("/u/ada").content.decode()
    response = client.get("/u/nobody")
    assert response.status_code == 404
    assert "Nobody here goes by" in response.content.decode()
