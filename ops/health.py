"""Readiness checks: is each service this site needs reachable right now?

Each check is bounded by a short timeout of its own, so a probe polled every few seconds answers
within about a second even when a dependency hangs instead of refusing. Clients are built once per
process and reused: creating a boto3 client costs far more than the request it makes.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from botocore.config import Config
from django.conf import settings
from django.core.files.storage import Storage, storages
from django.db import connection

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 1.0

_clients: dict[tuple[Any, ...], Any] = {}
_clients_lock = threading.Lock()


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    error: str = ""


def _cached(key: tuple[Any, ...], build: Any) -> Any:
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = build()
        return client


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def redis_url() -> str:
    """The queue's Redis: the one every web node and worker shares."""
    return str(settings.RQ_QUEUES["default"]["URL"])


def redis_client(url: str) -> redis.Redis:
    """A client of this process for ``url`` with the probe's short timeouts."""

    def build() -> redis.Redis:
        return redis.Redis.from_url(
            url,
            socket_connect_timeout=TIMEOUT_SECONDS,
            socket_timeout=TIMEOUT_SECONDS,
            retry_on_timeout=False,
        )

    client: redis.Redis = _cached(("redis", url), build)
    return client


def check_redis() -> None:
    redis_client(redis_url()).ping()


def _s3_client(storage: Any) -> Any:
    import boto3

    key = (
        "s3",
        storage.endpoint_url,
        storage.access_key,
        storage.region_name,
        storage.addressing_style,
    )

    def build() -> Any:
        return boto3.session.Session().client(
            "s3",
            endpoint_url=storage.endpoint_url,
            aws_access_key_id=storage.access_key,
            aws_secret_access_key=storage.secret_key,
            region_name=storage.region_name,
            config=Config(
                connect_timeout=TIMEOUT_SECONDS,
                read_timeout=TIMEOUT_SECONDS,
                retries={"max_attempts": 1, "mode": "standard"},
                s3={"addressing_style": storage.addressing_style or "auto"},
                signature_version=storage.signature_version or "s3v4",
            ),
        )

    return _cached(key, build)


def _check_local(storage: Storage) -> None:
    # FileSystemStorage makes its folder on the first write, so a missing folder is fine as long
    # as the nearest existing parent is writable.
    location = Path(storage.location)  # type: ignore[attr-defined]
    probe = location
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK):
        raise OSError(f"{location} is not writable")


def check_storage() -> None:
    for alias in settings.TAPES_BUCKET_STORAGES.values():
        storage = storages[alias]
        if hasattr(storage, "bucket_name") and hasattr(storage, "endpoint_url"):
            _s3_client(storage).head_bucket(Bucket=storage.bucket_name)
        else:
            _check_local(storage)


CHECKS = {"database": check_database, "redis": check_redis, "storage": check_storage}


def readiness() -> list[CheckResult]:
    results = []
    for name, check in CHECKS.items():
        try:
            check()
        except Exception as exc:  # any client error means "not reachable" to a probe
            logger.warning("readiness check %s failed: %s", name, exc)
            results.append(CheckResult(name, False, type(exc).__name__))
        else:
            results.append(CheckResult(name, True))
    return results
