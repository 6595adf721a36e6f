"""The Atom feeds, the sitemap and robots.txt, read the way their readers read them: the feeds
through feedparser (a real feed reader's parser), the sitemap through an XML parser."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta
from typing import Any

import feedparser
import pytest
from django.test import Client
from django.utils import timezone
from django.utils.http import http_date

from tapes import services
from tapes.models import Tape, TapeStatus, TapeVisibility
from tests.tapes.factories import ReadyTapeFactory

pytestmark = pytest.mark.django_db

SITE = "https://tapes.example"
ATOM_NS = {"a": "http://www.w3.org/2005/Atom", "media": "http://search.yahoo.com/mrss/"}
SITEMAP_NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}


@pytest.fixture(autouse=True)
def _site(settings: Any) -> None:
    settings.TAPES_SITE_URL = SITE
    settings.TAPES_FEED_ENTRIES = 50
    settings.TAPES_FEED_MAX_AGE_SECONDS = 120


def ready(minutes_ago: int, **fields: Any) -> Tape:
    when = timezone.now() - timedelta(minutes=minutes_ago)
    tape: Tape = ReadyTapeFactory.create(when=when, **fields)
    return tape


def parse(client: Client, url: str) -> Any:
    response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/atom+xml; charset=utf-8"
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    return parsed


def test_the_site_feed_lists_ready_public_tapes_newest_first(
    client: Client, user: Any, other_user: Any
) -> None:
    old = ready(30, user=user, title="Old one")
    new = ready(5, user=other_user, description="Line one\n\nLine two")
    guest = ready(10)
    ready(1, user=user, visibility=TapeVisibility.UNLISTED)
    ready(2, user=user, nuke=1)
    ReadyTapeFactory.create(user=user, failed=True)
    ReadyTapeFactory.create(user=user, status=TapeStatus.PROCESSING, mp4_key="")

    parsed = parse(client, "/tapes/feed.atom")
    feed = parsed.feed
    assert feed.title == "Tapesite: the latest tapes"
    links = {link.rel: link.href for link in feed.links}
    assert links == {"alternate": f"{SITE}/tapes", "self": f"{SITE}/tapes/feed.atom"}
    assert feed.id == f"{SITE}/tapes/feed.atom"
    assert feed.icon.startswith(f"{SITE}/static/") and feed.icon.endswith(".svg")
    assert feed.get("logo") or feed.get("image")
    assert [e.link for e in parsed.entries] == [
        f"{SITE}/t/{tape.code}" for tape in (new, guest, old)
    ]
    # The feed's "updated" is its newest entry's.
    assert feed.updated_parsed == parsed.entries[0].updated_parsed

    first = parsed.entries[0]
    assert first.title == f"!{new.code}"  # no title: its code
    assert first.id == f"tag:tapes.example,{new.when:%Y-%m-%d}:tape/{new.code}"
    assert first.author_detail.name == "grace"
    assert first.author_detail.href == f"{SITE}/u/grace"
    assert first.published_parsed == first.updated_parsed
    assert [t.term for t in first.tags] == ["line"]
    enclosure = first.enclosures[0]
    assert enclosure.href == f"{SITE}/api/tapes/{new.code}/media/mp4"
    assert (enclosure.type, enclosure.length) == ("video/mp4", "2000")
    (content,) = first.media_content
    assert content == {
        "url": f"{SITE}/api/tapes/{new.code}/media/mp4",
        "type": "video/mp4",
        "medium": "video",
        "isdefault": "true",
        "filesize": "2000",
        "duration": "2",  # 1.2 s, in whole seconds up
        "width": "40",
        "height": "24",
    }
    assert first.media_thumbnail == [{"url": f"{SITE}/api/tapes/{new.code}/media/thumbnail"}]
    # feedparser folds media:description into the entry's content; the XML says where it was.
    assert first.content[0].value == "Line one\n\nLine two"
    xml_entry = ET.fromstring(client.get("/tapes/feed.atom").content).find("a:entry", ATOM_NS)
    assert xml_entry is not None
    assert xml_entry.findtext("media:title", namespaces=ATOM_NS) == f"!{new.code}"
    assert xml_entry.findtext("media:description", namespaces=ATOM_NS) == "Line one\n\nLine two"
    assert "<img " in first.summary
    assert f'src="{SITE}/api/tapes/{new.code}/media/thumbnail"' in first.summary
    assert "<p>Line one</p>" in first.summary and "<p>Line two</p>" in first.summary

    assert parsed.entries[1].author_detail.name == "a guest"
    assert "href" not in parsed.entries[1].author_detail
    assert parsed.entries[2].title == "Old one"
    assert parsed.entries[2].author_detail.name == "Ada Lovelace"  # the name pages show


def test_a_users_feed_has_their_public_tapes_only(
    client: Client, user: Any, other_user: Any
) -> None:
    mine = [ready(n, user=user) for n in (3, 2, 1)]
    ready(0, user=other_user)
    ready(0, user=user, visibility=TapeVisibility.UNLISTED)
    parsed = parse(client, "/u/ada/feed.atom")
    assert parsed.feed.title == "Ada Lovelace's tapes on Tapesite"
    assert {link.rel: link.href for link in parsed.feed.links} == {
        "alternate": f"{SITE}/u/ada",
        "self": f"{SITE}/u/ada/feed.atom",
    }
    # Its id survives a change of username.
    assert parsed.feed.id == f"tag:tapes.example,{user.date_joined:%Y-%m-%d}:user/{user.pk}"
    assert [e.link.rsplit("/", 1)[1] for e in parsed.entries] == [t.code for t in mine[::-1]]


def test_an_unknown_user_has_no_feed(client: Client, user: Any) -> None:
    assert client.get("/u/nobody/feed.atom").status_code == 404
    user_id = user.pk
    user.delete()
    assert not Tape.objects.filter(user_id=user_id).exists()
    assert client.get("/u/ada/feed.atom").status_code == 404


def test_a_feed_has_at_most_the_setting_s_entries(client: Client, settings: Any, user: Any) -> None:
    settings.TAPES_FEED_ENTRIES = 3
    tapes = [ready(n, user=user) for n in range(5)]
    parsed = parse(client, "/tapes/feed.atom")
    assert [e.link.rsplit("/", 1)[1] for e in parsed.entries] == [t.code for t in tapes[:3]]


def test_hostile_words_stay_words(client: Client, user: Any) -> None:
    title = '<script>alert("t")</script> & <b>bold</b>'
    description = "<img src=x onerror=alert(1)>\n]]> & &amp; <!-- -->"
    ready(1, user=user, title=title, description=description, alt_text='" onload="x')
    body = client.get("/tapes/feed.atom").content.decode()
    assert "<script>" not in body and "<img src=x" not in body
    entry = feedparser.parse(body).entries[0]
    assert entry.title == title
    assert entry.title_detail.type == "text/plain"
    assert entry.content[0].value == description  # media:description, plain text
    # In the HTML summary the owner's text is text: escaped, never markup.
    assert "&lt;img src=x onerror=alert(1)&gt;" in entry.summary
    assert 'alt="&quot; onload=&quot;x"' in entry.summary
    assert "onerror=alert(1)>" not in entry.summary.replace("&gt;", "")


def test_an_unchanged_feed_answers_304_to_its_etag_and_date(client: Client, user: Any) -> None:
    tape = ready(5, user=user)
    Tape.objects.filter(pk=tape.pk).update(updated_at=timezone.now() - timedelta(minutes=5))
    first = client.get("/tapes/feed.atom")
    etag, modified = first["ETag"], first["Last-Modified"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert first["Cache-Control"] == "public, max-age=120"
    assert "Cookie" not in first.get("Vary", "") and not first.cookies
    assert modified == http_date(Tape.objects.get(pk=tape.pk).updated_at.timestamp())

    again = client.get("/tapes/feed.atom", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == etag and again["Cache-Control"] == "public, max-age=120"
    assert (
        client.get("/tapes/feed.atom", headers={"If-None-Match": f'"x", W/{etag}'}).status_code
        == 304
    )
    assert (
        client.get("/tapes/feed.atom", headers={"If-Modified-Since": modified}).status_code == 304
    )
    assert client.head("/tapes/feed.atom", headers={"If-None-Match": etag}).status_code == 304
    # A stale tag wins over a fresh date (RFC 9110: If-None-Match, when sent, decides).
    stale = client.get(
        "/tapes/feed.atom", headers={"If-None-Match": '"old"', "If-Modified-Since": modified}
    )
    assert stale.status_code == 200
    earlier = http_date((timezone.now() - timedelta(hours=1)).timestamp())
    assert client.get("/tapes/feed.atom", headers={"If-Modified-Since": earlier}).status_code == 200

    # The same for everyone: a signed-in reader gets the same version, and no Vary: Cookie.
    signed_in = Client()
    signed_in.force_login(user)
    theirs = signed_in.get("/tapes/feed.atom")
    assert theirs["ETag"] == etag and "Cookie" not in theirs.get("Vary", "")

    user_feed = client.get("/u/ada/feed.atom")
    assert user_feed["ETag"] != etag  # another feed, another version
    assert (
        client.get("/u/ada/feed.atom", headers={"If-None-Match": user_feed["ETag"]}).status_code
        == 304
    )


def test_a_change_made_this_second_is_not_dated(client: Client, user: Any) -> None:
    # HTTP dates have whole seconds: a date now would hide a change later in this second.
    ready(0, user=user)
    response = client.get("/tapes/feed.atom")
    assert response.has_header("ETag") and not response.has_header("Last-Modified")


def etags(client: Client) -> tuple[str, str]:
    return client.get("/tapes/feed.atom")["ETag"], client.get("/u/ada/feed.atom")["ETag"]


def test_each_change_to_what_a_feed_shows_changes_its_etag(
    client: Client, user: Any, moderator: Any, other_user: Any
) -> None:
    tape = ready(10, user=user)
    before = etags(client)
    assert etags(client) == before  # stable while nothing changes

    newer = ready(1, user=user)
    after_new = etags(client)
    assert after_new[0] != before[0] and after_new[1] != before[1]

    services.tape_edit(tape=tape, actor=user, title="A new title")
    after_edit = etags(client)
    assert after_edit[0] != after_new[0] and after_edit[1] != after_new[1]
    entry = feedparser.parse(client.get("/u/ada/feed.atom").content).entries[1]
    assert entry.title == "A new title"
    assert entry.updated_parsed >= entry.published_parsed

    services.tape_edit(tape=newer, actor=user, visibility=TapeVisibility.UNLISTED)
    after_unlist = etags(client)
    assert after_unlist[0] != after_edit[0] and after_unlist[1] != after_edit[1]

    services.tape_nuke(tape=tape, actor=moderator, reason="spam")
    after_nuke = etags(client)
    assert after_nuke[0] != after_unlist[0] and after_nuke[1] != after_unlist[1]
    assert feedparser.parse(client.get("/u/ada/feed.atom").content).entries == []

    # Another person's tape changes the site's feed, not Ada's.
    ready(0, user=other_user)
    after_other = etags(client)
    assert after_other[0] != after_nuke[0] and after_other[1] == after_nuke[1]

    # Renaming an author changes what the feeds say about them.
    ready(5, user=user)
    named = etags(client)
    user.first_name = "Augusta"
    user.save(update_fields=["first_name"])
    renamed = etags(client)
    assert renamed[0] != named[0] and renamed[1] != named[1]


def test_pages_point_readers_to_their_feeds(client: Client, user: Any) -> None:
    tape = ready(1, user=user)
    guest = ready(1)
    site = (
        '<link rel="alternate" type="application/atom+xml" title="Tapesite: the latest tapes"'
        ' href="/tapes/feed.atom">'
    )
    ada = (
        '<link rel="alternate" type="application/atom+xml"'
        ' title="Ada Lovelace\'s tapes" href="/u/ada/feed.atom">'
    )
    for path, has_ada in (
        ("/tapes", False),
        ("/", False),
        ("/u/ada", True),
        (f"/t/{tape.code}", True),
    ):
        html = client.get(path).content.decode()
        assert site in html, path
        assert (ada in html) is has_ada, path
    assert "/feed.atom" not in client.get(f"/t/{guest.code}").content.decode().replace(
        "/tapes/feed.atom", ""
    )


def sitemap_locs(client: Client, url: str) -> list[str]:
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/xml"
    root = ET.fromstring(response.content)
    return [loc.text or "" for loc in root.iterfind(".//s:loc", SITEMAP_NS)]


def test_the_sitemap_lists_public_ready_tapes_and_the_pages_of_their_owners(
    client: Client, settings: Any, user: Any, other_user: Any
) -> None:
    settings.TAPES_SITEMAP_PAGE_SIZE = 2
    public = [ready(n, user=user) for n in (4, 3)] + [ready(2), ready(1, user=user)]
    ready(1, user=other_user, visibility=TapeVisibility.UNLISTED)
    ready(1, user=other_user, nuke=1)
    ReadyTapeFactory.create(user=other_user, failed=True)

    index = client.get("/sitemap.xml")
    assert index["X-Robots-Tag"].startswith("noindex")
    root = ET.fromstring(index.content)
    assert root.tag == "{http://www.sitemaps.org/schemas/sitemap/0.9}sitemapindex"
    assert sitemap_locs(client, "/sitemap.xml") == [
        f"{SITE}/sitemap-pages.xml",
        f"{SITE}/sitemap-users.xml",
        f"{SITE}/sitemap-tapes.xml",
        f"{SITE}/sitemap-tapes.xml?p=2",
    ]
    assert sitemap_locs(client, "/sitemap-pages.xml") == [f"{SITE}/tapes"]
    assert sitemap_locs(client, "/sitemap-users.xml") == [f"{SITE}/u/ada"]  # not grace
    tapes = sitemap_locs(client, "/sitemap-tapes.xml") + sitemap_locs(
        client, "/sitemap-tapes.xml?p=2"
    )
    assert sorted(tapes) == sorted(f"{SITE}/t/{t.code}" for t in public)
    assert client.get("/sitemap-tapes.xml?p=3").status_code == 404
    assert client.get("/sitemap-nothing.xml").status_code == 404
    lastmod = ET.fromstring(client.get("/sitemap-tapes.xml").content).find(
        ".//s:lastmod", SITEMAP_NS
    )
    assert lastmod is not None and lastmod.text


def test_robots_txt_names_the_sitemap_and_keeps_crawlers_out_of_the_api(client: Client) -> None:
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    lines = response.content.decode().splitlines()
    assert f"Sitemap: {SITE}/sitemap.xml" in lines
    assert {"Disallow: /api/", "Disallow: /admin/", "Allow: /api/tapes/*/media/"} <= set(lines)
    assert "Disallow: /t/" not in lines and "Disallow: /" not in lines


def test_the_tapes_sitemap_answers_304_until_a_tape_changes(client: Client, user: Any) -> None:
    tape = ready(3, user=user)
    first = client.get("/sitemap-tapes.xml")
    assert first["Cache-Control"] == "public, max-age=3600"
    etag = first["ETag"]
    assert client.get("/sitemap-tapes.xml", headers={"If-None-Match": etag}).status_code == 304
    services.tape_edit(tape=tape, actor=user, visibility=TapeVisibility.UNLISTED)
    changed = client.get("/sitemap-tapes.xml", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed["ETag"] != etag
    assert sitemap_locs(client, "/sitemap-tapes.xml") == []
    assert client.get("/sitemap.xml")["Cache-Control"] == "public, max-age=3600"
