from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import redis
import requests
from django.conf import settings as django_settings

from tests.support.services import RedisServer, S3Server, seaweedfs

# tests.support.pds: the reference PDS and PLC (pds, pds_factory, plc_url, atproto_settings);
# tests.support.listeners: loopback HTTP listeners a test owns (listener);
# tests.support.video_service: the stand-in for Bluesky's video service (video_service).
pytest_plugins = [
    "tests.support.browser",
    "tests.support.oidc",
    "tests.support.synth_fixtures",
    "tests.support.tape_rows",
    "tests.support.pds",
    "tests.support.listeners",
    "tests.support.video_service",
]


def _bucket_storages(backend: str, options: dict[str, Any], per_bucket: Any) -> dict[str, Any]:
    storages = {
        alias: {"BACKEND": backend, "OPTIONS": {**options, **per_bucket(bucket)}}
        for bucket, alias in django_settings.TAPES_BUCKET_STORAGES.items()
    }
    return {**django_settings.STORAGES, **storages}


@pytest.fixture(autouse=True)
def _isolated_services(request: pytest.FixtureRequest) -> None:
    """Tests that touch Django get their own media folder and an empty queue database; pure
    tests (the archive reader, the encoder) need neither and run without Django."""
    if request.node.get_closest_marker("django_db") is not None:
        request.getfixturevalue("local_storage")
        request.getfixturevalue("clean_queue")
        # Rate-limit counters are per client address, and every test client is 127.0.0.1.
        from django.core.cache import caches

        caches["throttle"].clear()


@pytest.fixture
def local_storage(settings: Any, tmp_path: Path) -> Path:
    """Every test gets its own media folder, so nothing leaks between tests or into var/."""
    media = tmp_path / "media"
    settings.MEDIA_ROOT = media
    settings.STORAGES = _bucket_storages(
        "django.core.files.storage.FileSystemStorage",
        {"allow_overwrite": True},
        lambda bucket: {"location": media / bucket, "base_url": f"/media/{bucket}/"},
    )
    return media


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with seaweedfs(tmp_path_factory.mktemp("seaweedfs")) as server:
        client = boto3.client(
            "s3",
            endpoint_url=server.endpoint,
            aws_access_key_id=server.access_key,
            aws_secret_access_key=server.secret_key,
            region_name="us-east-1",
        )
        for bucket in django_settings.TAPES_BUCKET_STORAGES:
            client.create_bucket(Bucket=bucket)
        yield server


@pytest.fixture
def s3_storage(settings: Any, s3_server: S3Server, local_storage: Path) -> S3Server:
    settings.STORAGES = _bucket_storages(
        "tapesite.s3.S3Storage",
        {
            "access_key": s3_server.access_key,
            "secret_key": s3_server.secret_key,
            "endpoint_url": s3_server.endpoint,
            "region_name": "us-east-1",
            "addressing_style": "path",
            "signature_version": "s3v4",
            "default_acl": None,
            "file_overwrite": True,
        },
        lambda bucket: {"bucket_name": bucket},
    )
    return s3_server


@pytest.fixture
def clean_queue() -> Iterator[None]:
    """The suite's Redis database is emptied around each test, so jobs never leak between them."""
    client = redis.Redis.from_url(django_settings.REDIS_URL)
    client.flushdb()
    yield
    client.flushdb()


@pytest.fixture
def unthrottled(settings: Any) -> None:
    """No rate limit in the way of a test that sends many requests from one client."""
    rest = settings.REST_FRAMEWORK
    rates = {scope: "100000/min" for scope in rest["DEFAULT_THROTTLE_RATES"]}
    settings.REST_FRAMEWORK = {**rest, "DEFAULT_THROTTLE_RATES": rates}


@pytest.fixture
def private_redis(settings: Any, tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis server of the test's own, which it may stop and start."""
    server = RedisServer(tmp_path)
    server.start()
    settings.RQ_QUEUES = {
        name: {"URL": f"{server.url}?socket_connect_timeout=2", "DEFAULT_TIMEOUT": 900}
        for name in ("default", "encode", "federate")
    }
    yield server
    server.stop()


# The two sizes every page is looked at in: a desktop, and a phone with touch.
SIZES: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 2,
    },
}


@pytest.fixture(params=list(SIZES))
def tab(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh page once at each of SIZES; ``tab.size_name`` says which ("desktop", "phone")."""
    context = browser.new_context(**SIZES[request.param])
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.size_name = request.param
    yield page
    context.close()


@pytest.fixture
def api() -> Any:
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def user(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user(
        username="ada", password="pw", first_name="Ada", last_name="Lovelace"
    )


@pytest.fixture
def other_user(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user(username="grace", password="pw")


@pytest.fixture
def staff(django_user_model: Any) -> Any:
    """Staff without any permission: may open the admin, may not nuke."""
    return django_user_model.objects.create_user(username="mod", password="pw", is_staff=True)


@pytest.fixture
def moderator(django_user_model: Any) -> Any:
    """Staff in the "Moderators" group that the tapes migration creates."""
    import importlib

    from django.apps import apps
    from django.contrib.auth.models import Group

    if not Group.objects.filter(name="Moderators").exists():
        # A transactional test flushed what the data migration made: make it the same way.
        importlib.import_module("tapes.migrations.0003_moderation").create_moderators(apps, None)
    made = django_user_model.objects.create_user(username="judy", password="pw", is_staff=True)
    made.groups.add(Group.objects.get(name="Moderators"))
    return made


def tiny_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        # A fixed date keeps the bytes identical from call to call.
        entry = zipfile.ZipInfo("hello.txt", date_time=(2025, 10, 17, 12, 30, 0))
        archive.writestr(entry, "not a real tape, the API does not look inside")
    return buffer.getvalue()


def send_form(api: Any, upload: dict[str, Any], content: bytes) -> Any:
    """Send the upload form the way a browser would, to whichever storage issued it."""
    if upload["url"].startswith("http://testserver/"):
        data = {**upload["fields"], "file": io.BytesIO(content)}
        data["file"].name = "tape.zip"
        return api.post(upload["url"], data, format="multipart")
    return requests.post(
        upload["url"],
        data=upload["fields"],
        files={"file": ("tape.zip", content, "application/zip")},
        timeout=30,
    )


@pytest.fixture
def start_upload(api: Any) -> Any:
    def start(piece: str = "line", size: int = 1000) -> dict[str, Any]:
        response = api.post("/api/tapes/uploads", {"piece": piece, "bytes": size}, format="json")
        assert response.status_code == 201, response.content
        return dict(response.json())

    return start


@pytest.fixture
def post_tape(api: Any, start_upload: Any, django_capture_on_commit_callbacks: Any) -> Any:
    """Upload a ZIP and post it; returns the POST /api/tapes response."""

    def post(piece: str = "line", content: bytes | None = None, **extra: Any) -> Any:
        body = content if content is not None else tiny_zip()
        ticket = start_upload(piece=piece, size=len(body))
        sent = send_form(api, ticket["upload"], body)
        assert sent.status_code in (200, 201, 204), getattr(sent, "content", sent)
        with django_capture_on_commit_callbacks(execute=True):
            posting = {"slug": ticket["slug"], "upload_token": ticket["upload_token"], **extra}
            return api.post("/api/tapes", posting, format="json")

    return post


def audit_trail(target: Any) -> list[tuple[Any, str, str, dict[str, Any]]]:
    """(actor, action, reason, details) of each audit entry about ``target``, newest first."""
    from audit.selectors import audit_entries_for

    return [(e.actor, e.action, e.reason, e.details) for e in audit_entries_for(target=target)]
