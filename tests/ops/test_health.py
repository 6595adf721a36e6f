"""/healthz and /readyz against real services, and real failures of them."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from django.conf import settings as django_settings

from ops import health
from tests.support.services import RedisServer, S3Server, seaweedfs


def test_healthz_answers_without_touching_services(client: Any) -> None:
    # No django_db mark: pytest-django fails any database access, so this proves the liveness
    # probe needs no database.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_probes_answer_any_host_name(client: Any) -> None:
    # Orchestrators probe a node by its IP, which is not in ALLOWED_HOSTS.
    assert client.get("/healthz", HTTP_HOST="10.1.2.3:8000").status_code == 200
    assert client.get("/readyz", HTTP_HOST="10.1.2.3:8000").status_code == 200
    assert client.get("/api/tapes", HTTP_HOST="10.1.2.3:8000").status_code == 400


@pytest.mark.django_db
def test_readyz_ok_when_everything_answers(client: Any) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "redis": "ok", "storage": "ok"},
    }


@pytest.mark.django_db
def test_readyz_names_a_stopped_redis(client: Any, private_redis: RedisServer) -> None:
    assert client.get("/readyz").status_code == 200
    private_redis.stop()
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["redis"]
    assert body["checks"] == {"database": "ok", "redis": "failed", "storage": "ok"}
    assert "redis" in body["message"]
    private_redis.start()
    assert client.get("/readyz").status_code == 200


@pytest.fixture
def silent_redis(settings: Any) -> Iterator[int]:
    """A port that accepts TCP connections and never answers: a hung host, not a refusal."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        port = int(listener.getsockname()[1])
        settings.RQ_QUEUES = {
            name: {"URL": f"redis://127.0.0.1:{port}/0", "DEFAULT_TIMEOUT": 900}
            for name in ("default", "encode", "federate")
        }
        yield port


@pytest.mark.django_db
def test_readyz_gives_up_on_a_hung_redis(client: Any, silent_redis: int) -> None:
    # Without the probe's own timeout this request would never return.
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["redis"]


def _storages(backend: str, options: dict[str, Any], per_bucket: Any) -> dict[str, Any]:
    return {
        **django_settings.STORAGES,
        **{
            alias: {"BACKEND": backend, "OPTIONS": {**options, **per_bucket(bucket)}}
            for bucket, alias in django_settings.TAPES_BUCKET_STORAGES.items()
        },
    }


def _use_s3(settings: Any, server: S3Server) -> None:
    settings.STORAGES = _storages(
        "tapesite.s3.S3Storage",
        {
            "access_key": server.access_key,
            "secret_key": server.secret_key,
            "endpoint_url": server.endpoint,
            "region_name": "us-east-1",
            "addressing_style": "path",
            "signature_version": "s3v4",
            "default_acl": None,
        },
        lambda bucket: {"bucket_name": bucket},
    )


@pytest.mark.django_db
def test_readyz_names_a_stopped_storage(client: Any, settings: Any, tmp_path: Path) -> None:
    with seaweedfs(tmp_path) as server:
        _use_s3(settings, server)
        # Reachable but without its buckets: not ready either.
        missing = client.get("/readyz")
        assert missing.status_code == 503
        assert missing.json()["failed"] == ["storage"]
        s3 = boto3.client(
            "s3",
            endpoint_url=server.endpoint,
            aws_access_key_id=server.access_key,
            aws_secret_access_key=server.secret_key,
            region_name="us-east-1",
        )
        for bucket in django_settings.TAPES_BUCKET_STORAGES:
            s3.create_bucket(Bucket=bucket)
        assert client.get("/readyz").status_code == 200
    # The context manager has stopped SeaweedFS.
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["storage"]
    assert response.json()["checks"]["redis"] == "ok"


@pytest.mark.django_db
def test_local_storage_folder_must_be_usable(settings: Any, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the media folder should be")
    settings.STORAGES = _storages(
        "django.core.files.storage.FileSystemStorage",
        {},
        lambda bucket: {"location": blocker / bucket},
    )
    assert [result.name for result in health.readiness() if not result.ok] == ["storage"]
