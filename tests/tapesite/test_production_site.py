"""The production settings for real: gunicorn and a worker with ``tapesite.settings.production``
on PostgreSQL, Redis and SeaweedFS. One post goes through to ``ready``; and with Redis stopped the
site still reads and posts (``uploaded``), and the tape is encoded once Redis is back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from django.db import connections

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
