"""What shared caches may keep of tape reads (tapes.caching), asked over HTTP of the running site:
per kind of answer (a ready public tape, a nuked one, an unlisted or unfinished one, a signed-in
viewer) its Cache-Control, validators, Vary, and whether a conditional request gets a 304."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
import requests
from django.conf import settings
from django.test import Client
from django.utils import timezone

from tapes import services
from tapes.caching import MESSAGES_COOKIE
from tapes.models import Tape, TapeStatus, TapeVisibility

pytestmark = pytest.mark.django_db(transaction=True)

SHARED = "public, max-age=29, s-maxage=30"
NEVER = "private, no-store"


def tape_reads(base: str, code: str) -> dict[str, str]:
    """Every read of one tape, by kind."""
    page = f"{base}/t/{code}"
    return {
        "json": f"{base}/api/tapes/{code}",
        "page": page,
        "embed": f"{base}/t/{code}/embed",
        "oembed": f"{base}/oembed?url={quote(page, safe='')}",
        "thumbnail": f"{base}/api/tapes/{code}/media/thumbnail",
    }


def vary(response: requests.Response) -> set[str]:
    return {part.strip().lower() for part in response.headers.get("Vary", "").split(",") if part}


@pytest.fixture
def base(live_server: Any, settings: Any) -> str:
    settings.TAPES_SHARED_CACHE_SECONDS = 60
    settings.TAPES_SITE_URL = live_server.url
    return str(live_server.url)


@pytest.fixture
def signed_in(user: Any) -> requests.Session:
    client = Client()
    client.force_login(user)
    session = requests.Session()
    session.cookies.set(
        settings.SESSION_COOKIE_NAME, client.cookies[settings.SESSION_COOKIE_NAME].value
    )
    return session


def test_a_ready_public_tape_is_shared_briefly_and_revalidates(base: str, make_tape: Any) -> None:
    tape = make_tape(media=True)
    # Changed in an earlier second: within the current one there is no usable Last-Modified.
    Tape.objects.filter(pk=tape.pk).update(updated_at=timezone.now() - timedelta(seconds=5))
    for kind, url in tape_reads(base, tape.code).items():
        first = requests.get(url, timeout=10)
        assert first.status_code == 200, (kind, first.text[:300])
        assert first.headers["Cache-Control"] == SHARED, kind
        etag = first.headers["ETag"]
        assert etag.startswith('"'), kind  # strong
        assert "Last-Modified" in first.headers, kind
        # A page a cache shares sets no cookie (nginx would not keep it, and it is someone's).
        assert "Set-Cookie" not in first.headers, kind
        if kind != "thumbnail":  # the file is the same whoever asks
            assert {"cookie", "authorization"} <= vary(first), kind

        again = requests.get(url, headers={"If-None-Match": etag}, timeout=10)
        assert again.status_code == 304, kind
        assert again.content == b""
        assert again.headers["ETag"] == etag
        assert again.headers["Cache-Control"] == SHARED
        since = requests.get(
            url, headers={"If-Modified-Since": first.headers["Last-Modified"]}, timeout=10
        )
        assert since.status_code == 304, kind
        other = requests.get(url, headers={"If-None-Match": '"something-else"'}, timeout=10)
        assert other.status_code == 200 and other.content == first.content, kind


def test_an_edit_changes_the_tag_so_a_cache_gets_the_new_body(
    base: str, make_tape: Any, user: Any
) -> None:
    tape = make_tape(user=user)
    url = f"{base}/api/tapes/{tape.code}"
    before = requests.get(url, timeout=10)
    services.tape_edit(tape=tape, actor=user, title="A new name")
    after = requests.get(url, headers={"If-None-Match": before.headers["ETag"]}, timeout=10)
    assert after.status_code == 200
    assert after.json()["title"] == "A new name"
    assert after.headers["ETag"] != before.headers["ETag"]


def test_a_nuked_tape_is_never_stored_and_never_revalidates(
    base: str, make_tape: Any, moderator: Any
) -> None:
    tape = make_tape(media=True)
    reads = tape_reads(base, tape.code)
    tags = {kind: requests.get(url, timeout=10).headers["ETag"] for kind, url in reads.items()}
    services.tape_nuke(tape=tape, actor=moderator, reason="spam")
    expected = {"json": 404, "page": 404, "embed": 410, "oembed": 404, "thumbnail": 404}
    for kind, url in reads.items():
        # A cache revalidating what it kept gets the tape's end, not "unchanged".
        gone = requests.get(url, headers={"If-None-Match": tags[kind]}, timeout=10)
        assert gone.status_code == expected[kind], kind
        assert gone.headers["Cache-Control"] == NEVER, kind
        assert "ETag" not in gone.headers, kind


@pytest.mark.parametrize(
    "state",
    [
        {"visibility": TapeVisibility.UNLISTED},
        {"status": TapeStatus.PROCESSING, "progress": 40},
        {"status": TapeStatus.QUEUED, "progress": 0},
        {"status": TapeStatus.FAILED, "failure_code": "encode_failed"},
    ],
    ids=["unlisted", "processing", "queued", "failed"],
)
def test_an_unlisted_or_unfinished_tape_is_never_stored(
    base: str, make_tape: Any, state: dict[str, Any]
) -> None:
    tape = make_tape(media=True, **state)
    for kind, url in tape_reads(base, tape.code).items():
        first = requests.get(url, timeout=10)
        if kind == "oembed" and state.get("status") in (TapeStatus.PROCESSING, TapeStatus.QUEUED):
            assert first.status_code == 404  # nothing to embed yet
        elif kind == "oembed" and state.get("status") == TapeStatus.FAILED:
            assert first.status_code == 404
        else:
            assert first.status_code == 200, (kind, first.status_code)
        assert first.headers["Cache-Control"] == NEVER, kind
        assert "ETag" not in first.headers or kind == "thumbnail", kind
        # Whatever tag a client holds, it gets the body: nothing may keep serving it.
        tag = first.headers.get("ETag", '"x"')
        if kind != "thumbnail":
            again = requests.get(url, headers={"If-None-Match": tag}, timeout=10)
            assert again.status_code == first.status_code, kind


def test_a_tape_made_unlisted_stops_revalidating(base: str, make_tape: Any, user: Any) -> None:
    tape = make_tape(user=user)
    url = f"{base}/t/{tape.code}"
    kept = requests.get(url, timeout=10)
    assert kept.headers["Cache-Control"] == SHARED
    services.tape_edit(tape=tape, actor=user, visibility=TapeVisibility.UNLISTED)
    after = requests.get(url, headers={"If-None-Match": kept.headers["ETag"]}, timeout=10)
    assert after.status_code == 200
    assert after.headers["Cache-Control"] == NEVER


def test_a_signed_in_viewer_gets_answers_no_cache_keeps(
    base: str, make_tape: Any, signed_in: requests.Session, user: Any
) -> None:
    tape = make_tape(media=True)
    reads = tape_reads(base, tape.code)
    anonymous = {kind: requests.get(url, timeout=10) for kind, url in reads.items()}
    for kind in ("json", "page", "embed", "oembed"):
        mine = signed_in.get(
            reads[kind], headers={"If-None-Match": anonymous[kind].headers["ETag"]}
        )
        # Never the anonymous copy: the page names who is signed in.
        assert mine.status_code == 200, kind
        assert mine.headers["Cache-Control"] == NEVER, kind
        assert "cookie" in vary(mine), kind
    page = signed_in.get(reads["page"])
    assert user.username in page.text
    # The owner's forms and the page's API calls still get their CSRF cookie.
    assert "csrftoken" in signed_in.cookies
    for path in ("/tapes", f"/u/{user.username}"):
        listing = signed_in.get(base + path)
        assert listing.status_code == 200
        assert listing.headers["Cache-Control"] == NEVER, path


@pytest.mark.parametrize(
    "headers",
    [{"Authorization": "Bearer not-a-real-token"}, {"Cookie": f"{MESSAGES_COOKIE}=x"}],
    ids=["bearer", "messages-cookie"],
)
def test_requests_that_could_differ_are_never_shared(
    base: str, make_tape: Any, headers: dict[str, str]
) -> None:
    tape = make_tape()
    for url in (f"{base}/t/{tape.code}", f"{base}/tapes"):
        answer = requests.get(url, headers=headers, timeout=10)
        assert answer.headers["Cache-Control"] == NEVER, (url, answer.status_code)


def test_listings_are_shared_for_anonymous_visitors_and_drop_a_nuked_tape(
    base: str, make_tape: Any, user: Any, moderator: Any
) -> None:
    tape = make_tape(user=user, title="Nuke me")
    for path in ("/tapes", f"/u/{user.username}", "/tapes?partial=1"):
        first = requests.get(base + path, timeout=10)
        assert first.status_code == 200, path
        assert first.headers["Cache-Control"] == SHARED, path
        assert "Set-Cookie" not in first.headers, path
        same = requests.get(base + path, headers={"If-None-Match": first.headers["ETag"]})
        assert same.status_code == 304, path
    kept = requests.get(base + "/tapes", timeout=10)
    assert "Nuke me" in kept.text
    services.tape_nuke(tape=tape, actor=moderator, reason="spam")
    after = requests.get(base + "/tapes", headers={"If-None-Match": kept.headers["ETag"]})
    assert after.status_code == 200 and "Nuke me" not in after.text
    missing = requests.get(base + "/u/nobody-here", timeout=10)
    assert missing.status_code == 404 and missing.headers["Cache-Control"] == NEVER


def test_the_promise_is_split_between_the_shared_cache_and_the_browser(
    base: str, make_tape: Any, settings: Any
) -> None:
    tape = make_tape()
    settings.TAPES_SHARED_CACHE_SECONDS = 10
    answer = requests.get(f"{base}/api/tapes/{tape.code}", timeout=10)
    # Five in the shared cache, four in the browser, one for caches counting whole seconds.
    assert answer.headers["Cache-Control"] == "public, max-age=4, s-maxage=5"
    settings.TAPES_SHARED_CACHE_SECONDS = 2
    answer = requests.get(f"{base}/api/tapes/{tape.code}", timeout=10)
    assert answer.headers["Cache-Control"] == "public, no-cache"
