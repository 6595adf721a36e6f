"""The production settings for real: gunicorn and a worker with ``tapesite.settings.production``
on PostgreSQL, Redis and SeaweedFS. One post goes through to ``ready``; and with Redis stopped the
site still reads and posts (``uploaded``), and the tape is encoded once Redis is back."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from django.db import connections

from accounts.models import User
from tests.support import synth
from tests.support.services import RedisServer, S3Server
from tests.support.site import (
    SiteClient,
    current_database_url,
    gunicorn,
    manage,
    production_env,
    start_worker,
)
from tests.web.conftest import scribble

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.s3]


@pytest.fixture
def small_tape(tmp_path: Path) -> bytes:
    path = tmp_path / "t.zip"
    synth.make_tape(path, frames=8, width=48, height=32, scale=4, seed=11)
    return path.read_bytes()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def site_env(s3_server: S3Server, redis_server: RedisServer) -> dict[str, str]:
    connections.close_all()
    return production_env(
        database_url=current_database_url(), redis_url=redis_server.url, s3=s3_server
    )


def _worker_burst(env: dict[str, str], log: Path) -> None:
    worker = start_worker(env, log, burst=True)
    assert worker.wait(timeout=300) == 0, log.read_text()[-3000:]


def test_a_post_goes_through_to_ready(
    site_env: dict[str, str], small_tape: bytes, tmp_path: Path
) -> None:
    with gunicorn(site_env, tmp_path / "gunicorn.log") as site:
        client = SiteClient(site.url)
        posted = client.post(small_tape)
        assert posted.status_code == 201, posted.text
        code = posted.json()["code"]
        _worker_burst(site_env, tmp_path / "worker.log")
        tape = client.wait_for(code, {"ready", "failed"})
        assert tape["status"] == "ready", tape
        for name in ("mp4", "thumbnail", "preview", "gif"):
            media = requests.get(tape["media"][name], timeout=30)
            assert media.status_code == 200 and len(media.content) > 0, name
        assert b"ftyp" in requests.get(tape["media"]["mp4"], timeout=30).content[:16]


def test_with_redis_stopped_the_site_reads_and_posts(
    site_env: dict[str, str], redis_server: RedisServer, small_tape: bytes, tmp_path: Path
) -> None:
    with gunicorn(site_env, tmp_path / "gunicorn.log") as site:
        redis_server.stop()
        client = SiteClient(site.url)
        listed = client.http.get(f"{site.url}/api/tapes", timeout=30)
        assert listed.status_code == 200, site.log()
        posted = client.post(small_tape)
        assert posted.status_code == 201, site.log()
        assert posted.json()["status"] == "uploaded"
        code = posted.json()["code"]
        assert client.tape(code)["status"] == "uploaded"

        redis_server.start()
        out = manage(site_env, "tapes_reconcile")
        assert "enqueued 1" in out, out
        _worker_burst(site_env, tmp_path / "worker.log")
        assert client.wait_for(code, {"ready", "failed"})["status"] == "ready"


def test_the_throttle_still_limits_on_redis(
    site_env: dict[str, str], small_tape: Any, tmp_path: Path
) -> None:
    env = {**site_env, "TAPES_THROTTLE_READ": "5/min"}
    with gunicorn(env, tmp_path / "gunicorn.log") as site:
        statuses = [requests.get(f"{site.url}/api/tapes", timeout=30).status_code for _ in range(7)]
    # Counted in the shared Redis, so the two gunicorn workers share one budget.
    assert statuses == [200] * 5 + [429] * 2


SECURITY_HEADERS = (
    "Content-Security-Policy",
    "Strict-Transport-Security",
    "Referrer-Policy",
    "Permissions-Policy",
    "X-Content-Type-Options",
)


def test_every_page_and_api_answer_carries_the_security_headers(
    s3_server: S3Server, redis_server: RedisServer, tmp_path: Path
) -> None:
    """Production settings under gunicorn, behind a TLS proxy (X-Forwarded-Proto): the pages,
    the API (answers and errors), the metrics door, static files; and the API speaks JSON only,
    whatever the client accepts."""
    from django.test import Client

    from tests.tapes.factories import TapeFactory

    person = User.objects.create_user(username="hedda", password="x" * 12)
    tape = TapeFactory.create(user=person)
    # The test client's session, readable by the site because both sign with one key.
    client = Client()
    client.force_login(person)
    session = client.cookies["sessionid"].value
    connections.close_all()
    env = production_env(
        database_url=current_database_url(),
        redis_url=redis_server.url,
        s3=s3_server,
        DJANGO_SECRET_KEY="test-only-key",
        DJANGO_STATIC_ROOT=str(tmp_path / "static"),
    )
    manage(env, "collectstatic", "--noinput")
    behind_tls = {"X-Forwarded-Proto": "https"}
    with gunicorn(env, tmp_path / "gunicorn.log") as site:
        pages = {
            "/": 200,
            "/tapes": 200,
            f"/t/{tape.code}": 200,
            "/u/hedda": 200,
            "/t/nope": 404,
            "/accounts/login/": 200,
            "/admin/login/": 200,
            "/me": 302,
            "/api/schema/docs/": 200,
            "/static/tapesite.css": 200,
        }
        api = {
            f"/api/tapes/{tape.code}": 200,
            "/api/tapes": 200,
            "/api/tapes/nope": 404,
            "/api/no-such-thing": 404,
            "/metrics": 401,
        }
        answers: dict[str, requests.Response] = {}
        for path, status in {**pages, **api}.items():
            answer = requests.get(
                site.url + path,
                headers={**behind_tls, "Accept": "text/html,*/*;q=0.8"},
                allow_redirects=False,
                timeout=30,
            )
            assert answer.status_code == status, (path, answer.status_code, site.log())
            answers[path] = answer
        answers["/me signed in"] = requests.get(
            site.url + "/me", headers=behind_tls, cookies={"sessionid": session}, timeout=30
        )
        assert answers["/me signed in"].status_code == 200, site.log()
        answers["POST /api/tapes (bad JSON)"] = requests.post(
            site.url + "/api/tapes",
            data=b"{",
            headers={**behind_tls, "Content-Type": "application/json"},
            timeout=30,
        )
        assert answers["POST /api/tapes (bad JSON)"].status_code in (400, 403)
        for name, answer in answers.items():
            missing = [h for h in SECURITY_HEADERS if h not in answer.headers]
            assert not missing, (name, missing)
            csp = answer.headers["Content-Security-Policy"]
            for directive in (
                "script-src 'self'",
                "object-src 'none'",
                "frame-ancestors 'none'",
                "base-uri 'self'",
            ):
                assert directive in csp, (name, csp)
            assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
            # The media and the uploads live on the storage's origin.
            assert s3_server.endpoint in csp.split("connect-src", 1)[1].split(";")[0], csp
            assert answer.headers["Strict-Transport-Security"] == "max-age=31536000"
            assert answer.headers["X-Content-Type-Options"] == "nosniff"
            assert "camera=()" in answer.headers["Permissions-Policy"]
        # JSON only: no browsable API, even for a client that asks for HTML.
        for path in api:
            for accept in ("text/html", "text/html,application/xhtml+xml,*/*;q=0.8"):
                answer = requests.get(
                    site.url + path, headers={**behind_tls, "Accept": accept}, timeout=30
                )
                assert answer.headers["Content-Type"].startswith("application/json"), (path, accept)
                assert "<html" not in answer.text.lower()
        explicit = requests.get(f"{site.url}/api/tapes/{tape.code}?format=api", timeout=30)
        assert explicit.headers["Content-Type"].startswith("application/json")
        assert "<html" not in explicit.text.lower()


def test_the_recorder_runs_on_the_collected_hashed_static_files(
    s3_server: S3Server, redis_server: RedisServer, tmp_path: Path, browser: Any
) -> None:
    """What the browser gets in production: hashed modules that import hashed modules, and the
    recorder library's packing worker found beside its module (new URL(..., import.meta.url))
    under its hashed name too. A bad rewrite would break only here, never under runserver."""
    connections.close_all()
    env = production_env(
        database_url=current_database_url(),
        redis_url=redis_server.url,
        s3=s3_server,
        DJANGO_STATIC_ROOT=str(tmp_path / "static"),
    )
    manage(env, "collectstatic", "--noinput")
    with gunicorn(env, tmp_path / "gunicorn.log") as site:
        context = browser.new_context(extra_http_headers={"X-Forwarded-Proto": "https"})
        context.set_default_timeout(20_000)
        try:
            page = context.new_page()
            workers: list[str] = []
            page.on("worker", lambda worker: workers.append(worker.url))
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(site.url + "/")
            page.locator("#recorder[data-ready=true]").wait_for()
            page.get_by_role("button", name="Record").click()
            page.locator("#recorder[data-state=recording]").wait_for()
            scribble(page, 0.6)
            page.locator("#stop").click()
            page.locator("#recorder[data-state=recorded]").wait_for()
            assert page.locator("#recorder").get_attribute("data-blank") == "false"
        finally:
            context.close()
    assert errors == []
    assert any(
        re.search(r"/static/tapes/pack-worker\.[0-9a-f]{12}\.js$", url) for url in workers
    ), workers
