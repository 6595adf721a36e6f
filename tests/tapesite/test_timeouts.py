"""Every network client gives up on a peer that accepts a connection and then says nothing:
Redis (queue and throttle), PostgreSQL and S3 are configured with connect and read bounds."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import boto3
import psycopg
import pytest
import redis
from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError

from tapesite.settings import base
from tests.tapesite.test_settings import COMPLETE, load_production


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(50)
        yield int(sock.getsockname()[1])


@pytest.fixture
def short_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(base, "NETWORK_CONNECT_TIMEOUT_SECONDS", 1.0)
    monkeypatch.setattr(base, "NETWORK_READ_TIMEOUT_SECONDS", 1.0)


def _takes(fn: Any, exc: type[BaseException] | tuple[type[BaseException], ...]) -> float:
    started = time.monotonic()
    with pytest.raises(exc):
        fn()
    return time.monotonic() - started


def test_queue_redis_gives_up_on_a_silent_server(silent_port: int, short_bounds: None) -> None:
    url = base.redis_with_timeouts(f"redis://127.0.0.1:{silent_port}/0")
    client = redis.Redis.from_url(url, retry_on_timeout=False)
    assert _takes(client.ping, redis.TimeoutError) < 5


def test_queue_url_keeps_timeouts_a_site_set_itself() -> None:
    url = base.redis_with_timeouts("redis://h:1/0?socket_timeout=7")
    assert "socket_timeout=7" in url and url.count("socket_timeout=") == 1
    assert "socket_connect_timeout=" in url


def test_postgres_gives_up_on_a_silent_server(silent_port: int, short_bounds: None) -> None:
    config = base.database(f"postgres://u@127.0.0.1:{silent_port}/db")
    options = config["OPTIONS"]
    assert "statement_timeout=1000" in options["options"]
    elapsed = _takes(
        lambda: psycopg.connect(
            host="127.0.0.1",
            port=silent_port,
            user="u",
            dbname="db",
            connect_timeout=options["connect_timeout"],
        ),
        psycopg.OperationalError,
    )
    # libpq applies connect_timeout per address tried (IPv4 only here): about 1-2 s.
    assert elapsed < 5


def test_s3_gives_up_on_a_silent_server(silent_port: int, short_bounds: None) -> None:
    client = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{silent_port}",
        aws_access_key_id="k",
        aws_secret_access_key="s",
        region_name="us-east-1",
        config=base.s3_client_config(),
    )
    # Standard retries: 3 attempts of 1 s each at most, plus back-off.
    assert _takes(client.list_buckets, (ReadTimeoutError, ConnectTimeoutError)) < 10


def test_production_bounds_every_client() -> None:
    probe = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "c = s.STORAGES['tapes_user']['OPTIONS']['client_config']; "
        "print(json.dumps({'db': s.DATABASES['default']['OPTIONS'], "
        "'rq': s.RQ_QUEUES['encode']['URL'], 'throttle': s.CACHES['throttle']['LOCATION'], "
        "'s3': [c.connect_timeout, c.read_timeout], 'pds': list(s.TAPES_PDS_TIMEOUT), "
        "'proxies': s.REST_FRAMEWORK['NUM_PROXIES']}))"
    )
    import subprocess
    import sys

    env = {**COMPLETE, "DATABASE_URL": "postgres://u@db/tapes"}
    result = load_production(env)
    assert result.returncode == 0, result.stderr
    out = subprocess.run(
        [sys.executable, "-c", probe],
        env={**_clean_env(), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout)
    assert seen["db"]["connect_timeout"] == 3 and "statement_timeout" in seen["db"]["options"]
    assert "socket_connect_timeout=3" in seen["rq"] and "socket_timeout=10" in seen["rq"]
    assert "socket_timeout=0.5" in seen["throttle"]
    assert seen["s3"] == [3.0, 30.0]
    assert seen["pds"] == [3.0, 15.0]
    assert seen["proxies"] == 0


def _clean_env() -> dict[str, str]:
    import os

    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "AWS_", "TAPES_"))
        and k not in ("DATABASE_URL", "REDIS_URL")
    }
