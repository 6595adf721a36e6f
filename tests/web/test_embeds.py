"""Embeds and oEmbed over HTTP (web.embeds): the embed page is the one page other sites may frame,
the oEmbed answer has what the spec (https://oembed.com, section 2.3.4) requires of a video, in
the sizes the consumer allows, and unlisted, nuked and unknown tapes answer as docs/embeds.md
says."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import quote

import pytest

from tapes.models import TapeStatus, TapeVisibility
from tests.web.test_views import meta

pytestmark = pytest.mark.django_db

BASE = "http://testserver"
# The spec's parameters for every type, and the ones a video must have (2.3.4, 2.3.4.3).
REQUIRED = {"type", "version"}
REQUIRED_VIDEO = {"html", "width", "height"}
OPTIONAL = {
    "title",
    "author_name",
    "author_url",
    "provider_name",
    "provider_url",
    "cache_age",
    "thumbnail_url",
    "thumbnail_width",
    "thumbnail_height",
}


def frame_ancestors(response: Any) -> str:
    found = re.search(r"frame-ancestors ([^;]*)", response["Content-Security-Policy"])
    assert found, response["Content-Security-Policy"]
    return found.group(1).strip()


def oembed(client: Any, url: str, **params: Any) -> Any:
    query = "&".join(f"{k}={quote(str(v), safe='')}" for k, v in params.items())
    return client.get(f"/oembed?url={quote(url, safe='')}" + (f"&{query}" if query else ""))


def iframe_size(html: str) -> tuple[int, int]:
    found = re.search(r'<iframe [^>]*width="(\d+)" height="(\d+)"', html)
    assert found, html
    return int(found.group(1)), int(found.group(2))


def check_spec(answer: dict[str, Any]) -> None:
    """What the spec asks of any answer that is a video."""
    assert answer.keys() >= REQUIRED | REQUIRED_VIDEO, answer
    assert set(answer) <= REQUIRED | REQUIRED_VIDEO | OPTIONAL, set(answer) - OPTIONAL
    assert answer["type"] == "video"
    assert answer["version"] == "1.0"
    assert isinstance(answer["width"], int) and answer["width"] > 0
    assert isinstance(answer["height"], int) and answer["height"] > 0
    # "The thumbnail_url, thumbnail_width and thumbnail_height parameters must be present
    # together, or not at all."
    thumbnail = {"thumbnail_url", "thumbnail_width", "thumbnail_height"}
    assert thumbnail <= answer.keys() or not thumbnail & answer.keys()
    assert iframe_size(answer["html"]) == (answer["width"], answer["height"])


# --- the embed page ---------------------------------------------------------------------------


def test_the_embed_page_may_be_framed_by_any_site(client: Any, make_tape: Any, user: Any) -> None:
    tape = make_tape(user=user, media=True)
    response = client.get(f"/t/{tape.code}/embed")
    assert response.status_code == 200
    assert frame_ancestors(response) == "*"
    assert "X-Frame-Options" not in response
    assert response["X-Robots-Tag"] == "noindex"
    html = response.content.decode()
    assert f'src="{BASE}/api/tapes/{tape.code}/media/mp4"' in html
    assert re.search(r"<video [^>]*\bloop\b", html)
    # The link back opens the tape's page outside the frame.
    assert re.search(
        rf'<a class="embed-link" id="embed-link" href="{BASE}/t/{tape.code}" target="_blank"',
        html,
    )
    assert "<script>" not in html and "style=" not in html  # nothing inline under the CSP


@pytest.mark.parametrize("path", ["/", "/tapes", "/t/{code}", "/go?code={code}", "/oembed"])
def test_every_other_page_stays_unframable(client: Any, make_tape: Any, path: str) -> None:
    tape = make_tape(media=True)
    response = client.get(path.format(code=tape.code), follow=True)
    assert frame_ancestors(response) == "'none'"
    assert response["X-Frame-Options"] == "DENY"


def test_a_tape_still_being_made_embeds_as_a_card(client: Any, make_tape: Any) -> None:
    tape = make_tape(status=TapeStatus.PROCESSING, progress=30, frames=None, duration_ms=None)
    response = client.get(f"/t/{tape.code}/embed")
    assert response.status_code == 200
    assert frame_ancestors(response) == "*"
    html = response.content.decode()
    assert "still being made into a video" in html
    assert "<video" not in html


def test_a_nuked_tape_embeds_as_a_small_gone_card(client: Any, make_tape: Any) -> None:
    tape = make_tape(media=True, nuked=True)
    response = client.get(f"/t/{tape.code}/embed")
    assert response.status_code == 410
    # Still framable: the host page shows the card, not the browser's refusal.
    assert frame_ancestors(response) == "*"
    assert "X-Frame-Options" not in response
    html = response.content.decode()
    assert "This tape is gone." in html
    assert "<video" not in html and "/media/" not in html
    assert 'class="site-header"' not in html  # the card alone, not the site's page


def test_an_unknown_code_embeds_as_a_not_found_card(client: Any) -> None:
    response = client.get("/t/nope42/embed")
    assert response.status_code == 404
    assert frame_ancestors(response) == "*"
    assert "There is no tape !nope42." in response.content.decode()


def test_an_unlisted_tape_embeds_for_whoever_has_the_link(client: Any, make_tape: Any) -> None:
    tape = make_tape(media=True, visibility=TapeVisibility.UNLISTED)
    embed = client.get(f"/t/{tape.code}/embed")
    assert embed.status_code == 200
    assert '<meta name="robots" content="noindex">' in embed.content.decode()
    answer = oembed(client, f"{BASE}/t/{tape.code}").json()
    check_spec(answer)
    page = client.get(f"/t/{tape.code}").content.decode()
    assert '<meta name="robots" content="noindex">' in page
    assert 'id="embed-code"' in page
    # Still out of every listing.
    assert tape.code not in client.get("/tapes").content.decode()


# --- oEmbed -------------------------------------------------------------------------------------


def test_oembed_answers_a_video_as_the_spec_says(client: Any, make_tape: Any, user: Any) -> None:
    tape = make_tape(user=user, media=True, title="Spiral")
    response = oembed(client, f"{BASE}/t/{tape.code}", format="json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Access-Control-Allow-Origin"] == "*"
    answer = response.json()
    check_spec(answer)
    # 256 x 192 at 2x (the largest whole scale inside 640 x 480), and the embed's 36 px bar.
    assert (answer["width"], answer["height"]) == (512, 420)
    assert f'src="{BASE}/t/{tape.code}/embed"' in answer["html"]
    assert answer["title"] == "Spiral"
    assert answer["provider_name"] == "Tapesite"
    assert answer["provider_url"] == f"{BASE}/"
    assert answer["author_name"] == user.display_name
    assert answer["author_url"] == f"{BASE}/u/{user.username}"
    assert answer["thumbnail_url"] == f"{BASE}/api/tapes/{tape.code}/media/thumbnail"
    # The encoder's thumbnail: the drawing at the video's upscale (2x for 256 x 192).
    assert (answer["thumbnail_width"], answer["thumbnail_height"]) == (512, 384)
    assert isinstance(answer["cache_age"], int)


def test_oembed_answers_in_xml_too(client: Any, make_tape: Any) -> None:
    tape = make_tape(media=True)
    response = oembed(client, f"{BASE}/t/{tape.code}", format="xml")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "oembed"
    answer: dict[str, Any] = {child.tag: child.text for child in root}
    for key in ("width", "height", "thumbnail_width", "thumbnail_height", "cache_age"):
        answer[key] = int(answer[key])
    check_spec(answer)
    assert answer == oembed(client, f"{BASE}/t/{tape.code}").json()


@pytest.mark.parametrize(
    ("limits", "size"),
    [
        ({}, (512, 420)),
        ({"maxwidth": 600}, (512, 420)),
        ({"maxwidth": 511}, (256, 228)),
        ({"maxheight": 419}, (256, 228)),
        ({"maxwidth": 2000, "maxheight": 2000}, (512, 420)),  # never past the default box
        ({"maxwidth": 128}, (128, 96 + 36)),  # below 1x: evenly shrunk
        ({"maxwidth": 100, "maxheight": 90}, (72, 54 + 36)),
    ],
)
def test_oembed_fits_maxwidth_and_maxheight(
    client: Any, make_tape: Any, limits: dict[str, int], size: tuple[int, int]
) -> None:
    tape = make_tape(media=True)
    answer = oembed(client, f"{BASE}/t/{tape.code}", **limits).json()
    check_spec(answer)
    assert (answer["width"], answer["height"]) == size
    assert answer["width"] <= limits.get("maxwidth", 10**6)
    assert answer["height"] <= limits.get("maxheight", 10**6)


@pytest.mark.parametrize(
    "url",
    [
        f"{BASE}/!{{code}}",
        f"{BASE}/%23{{code}}",
        f"{BASE}/t/{{code}}/",
        "https://testserver/t/{code}",
        "https://tapes.example/t/{code}",  # TAPES_SITE_URL's host
    ],
)
def test_oembed_knows_every_form_of_a_tapes_link(
    client: Any, make_tape: Any, settings: Any, url: str
) -> None:
    settings.TAPES_SITE_URL = "https://tapes.example"
    tape = make_tape(media=True)
    response = oembed(client, url.format(code=tape.code))
    assert response.status_code == 200, response.content
    assert f"/t/{tape.code}/embed" in response.json()["html"]


@pytest.mark.parametrize(
    "url",
    [
        "https://elsewhere.example/t/{code}",
        "http://testserver.evil.example/t/{code}",
        "http://user@testserver/t/{code}",
        "ftp://testserver/t/{code}",
        f"{BASE}/tapes",
        f"{BASE}/t/{{code}}/embed",
        f"{BASE}/u/someone",
        f"{BASE}/t/zz999",
        "not a link",
    ],
)
def test_oembed_has_no_answer_for_what_is_not_a_tape_of_this_site(
    client: Any, make_tape: Any, url: str
) -> None:
    tape = make_tape(media=True)
    response = oembed(client, url.format(code=tape.code))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_oembed_has_no_answer_for_a_nuked_or_unfinished_tape(client: Any, make_tape: Any) -> None:
    nuked = make_tape(media=True, nuked=True)
    making = make_tape(status=TapeStatus.PROCESSING, frames=None, duration_ms=None)
    failed = make_tape(status=TapeStatus.FAILED, failure_code="archive_not_zip")
    for tape in (nuked, making, failed):
        assert oembed(client, f"{BASE}/t/{tape.code}").status_code == 404, tape.status


def test_oembed_refuses_what_it_cannot_do(client: Any, make_tape: Any) -> None:
    tape = make_tape(media=True)
    unsupported = oembed(client, f"{BASE}/t/{tape.code}", format="yaml")
    assert unsupported.status_code == 501
    assert unsupported.json()["error"]["code"] == "format_unsupported"
    bad = oembed(client, f"{BASE}/t/{tape.code}", maxwidth="wide")
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_input"
    assert client.get("/oembed").status_code == 400
    # No room for a picture under the embed's bar.
    assert oembed(client, f"{BASE}/t/{tape.code}", maxheight=36).status_code == 404


# --- the tape page ------------------------------------------------------------------------------


def test_the_tape_page_leads_consumers_to_oembed_and_the_player_card(
    client: Any, make_tape: Any
) -> None:
    tape = make_tape(media=True)
    html = client.get(f"/t/{tape.code}").content.decode()
    found = re.search(r'<link rel="alternate" type="application/json\+oembed" href="([^"]+)"', html)
    assert found
    discovered = client.get(found.group(1).replace("&amp;", "&").removeprefix(BASE))
    assert discovered.status_code == 200
    check_spec(discovered.json())
    assert 'type="text/xml+oembed"' in html
    assert meta(html, "twitter:card") == "player"
    assert meta(html, "twitter:player") == f"{BASE}/t/{tape.code}/embed"
    assert (meta(html, "twitter:player:width"), meta(html, "twitter:player:height")) == (
        "512",
        "420",
    )
    assert meta(html, "twitter:image") == f"{BASE}/api/tapes/{tape.code}/media/thumbnail"
    assert meta(html, "og:video") and meta(html, "og:image")
    # The box with the code to copy: the same iframe oEmbed hands out.
    box = re.search(r'<textarea id="embed-code"[^>]*>([^<]*)</textarea>', html)
    assert box
    assert (
        box.group(1)
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", '"')
        .replace("&amp;", "&")
        .replace("&#x27;", "'")
        == discovered.json()["html"]
    )


def test_a_tape_being_made_offers_no_embed_yet(client: Any, make_tape: Any) -> None:
    tape = make_tape(status=TapeStatus.PROCESSING, frames=None, duration_ms=None)
    html = client.get(f"/t/{tape.code}").content.decode()
    assert 'id="embed-code"' not in html
    assert meta(html, "twitter:player") is None
    assert meta(html, "twitter:card") == "summary"
