"""Through a real shared cache: Debian's nginx with proxy_cache in front of the site, set up as
docs/operations.md says (tests/support/nginx.py). What it keeps, what it never keeps, and that a
nuked tape stops being served through it within the promised time (here a short promise,
TAPES_SHARED_CACHE_SECONDS=4, to keep the test fast; bench/cache.py shows the real one)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from django.conf import settings as django_settings
from django.test import Client

from tapes import services
from tapes.models import TapeVisibility
from tests.sites.factories import SiteFactory
from tests.support.nginx import Nginx, nginx_cache

pytestmark = pytest.mark.django_db(transaction=True)

PROMISE = 4


@pytest.fixture
def cache(live_server: Any, settings: Any, tmp_path: Path) -> Iterator[Nginx]:
    settings.TAPES_SHARED_CACHE_SECONDS = PROMISE
    upstream = f"127.0.0.1:{live_server.thread.port}"
    with nginx_cache(
        upstream, tmp_path / "nginx", session_cookie=django_settings.SESSION_COOKIE_NAME
    ) as server:
        yield server


def reads(base: str, code: str) -> dict[str, str]:
    return {
        "json": f"{base}/api/tapes/{code}",
        "page": f"{base}/t/{code}",
        "thumbnail": f"{base}/api/tapes/{code}/media/thumbnail",
    }


def status_of(response: requests.Response) -> str:
    return response.headers.get("X-Cache-Status", "")


def test_the_cache_serves_a_ready_public_tape_and_revalidates_it(
    cache: Nginx, make_tape: Any
) -> None:
    tape = make_tape(media=True)
    for kind, url in reads(cache.url, tape.code).items():
        first = requests.get(url, timeout=10)
        assert first.status_code == 200, kind
        assert status_of(first) == "MISS", kind
        second = requests.get(url, timeout=10)
        assert status_of(second) == "HIT", kind
        assert second.content == first.content
        # nginx answers a client's conditional request from its copy.
        mine = requests.get(url, headers={"If-None-Match": first.headers["ETag"]}, timeout=10)
        assert mine.status_code == 304, kind
    # Past s-maxage the cache asks the site again with the tag, and keeps its copy on a 304.
    time.sleep(PROMISE / 2 + 1.5)  # nginx counts whole seconds
    renewed = requests.get(f"{cache.url}/t/{tape.code}", timeout=10)
    assert renewed.status_code == 200
    assert status_of(renewed) == "REVALIDATED"


def test_a_signed_in_viewer_never_gets_or_leaves_a_shared_copy(
    cache: Nginx, make_tape: Any, user: Any
) -> None:
    tape = make_tape()
    url = f"{cache.url}/t/{tape.code}"
    assert status_of(requests.get(url, timeout=10)) == "MISS"
    client = Client()
    client.force_login(user)
    session = requests.Session()
    name = django_settings.SESSION_COOKIE_NAME
    session.cookies.set(name, client.cookies[name].value)
    mine = session.get(url, timeout=10)
    assert status_of(mine) == "BYPASS"
    assert mine.headers["Cache-Control"] == "private, no-store"
    assert user.username in mine.text  # their own nav, not the anonymous copy
    anonymous = requests.get(url, timeout=10)
    assert status_of(anonymous) == "HIT"
    assert user.username not in anonymous.text


def test_an_unlisted_tape_is_never_kept(cache: Nginx, make_tape: Any) -> None:
    tape = make_tape(media=True, visibility=TapeVisibility.UNLISTED)
    for kind, url in reads(cache.url, tape.code).items():
        for _ in range(2):
            answer = requests.get(url, timeout=10)
            assert answer.status_code == 200, kind
            assert status_of(answer) == "MISS", kind


def test_a_nuked_tape_leaves_the_cache_within_the_promise(
    cache: Nginx, make_tape: Any, moderator: Any
) -> None:
    tape = make_tape(media=True)
    urls = reads(cache.url, tape.code)
    for kind, url in urls.items():
        requests.get(url, timeout=10)
        assert status_of(requests.get(url, timeout=10)) == "HIT", kind
    services.tape_nuke(tape=tape, actor=moderator, reason="spam")
    nuked_at = time.monotonic()
    # Still served from the copy for now: the cache is really in the way.
    assert requests.get(urls["json"], timeout=10).status_code == 200
    gone: dict[str, float] = {}
    while len(gone) < len(urls) and time.monotonic() - nuked_at < PROMISE + 5:
        for kind, url in urls.items():
            if kind not in gone and requests.get(url, timeout=10).status_code == 404:
                gone[kind] = time.monotonic() - nuked_at
        time.sleep(0.1)
    assert set(gone) == set(urls), gone
    # The shared cache's part of the promise (s-maxage, and up to a second as nginx counts whole
    # seconds from when it stored the copy); a browser's max-age takes the rest.
    assert max(gone.values()) <= PROMISE / 2 + 1.5, gone


def test_each_origin_gets_its_own_copy_of_the_api_answer(cache: Nginx, make_tape: Any) -> None:
    site = SiteFactory.create(origin="https://pieces.example", name="Pieces")
    tape = make_tape()
    url = f"{cache.url}/api/tapes/{tape.code}"
    plain = requests.get(url, timeout=10)
    assert status_of(requests.get(url, timeout=10)) == "HIT"
    assert "Access-Control-Allow-Origin" not in plain.headers
    theirs = requests.get(url, headers={"Origin": site.origin}, timeout=10)
    assert theirs.status_code == 200
    assert theirs.headers["Access-Control-Allow-Origin"] == site.origin
    assert status_of(theirs) == "MISS"
    again = requests.get(url, headers={"Origin": site.origin}, timeout=10)
    assert status_of(again) == "HIT"
    assert again.headers["Access-Control-Allow-Origin"] == site.origin
