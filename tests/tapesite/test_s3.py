"""tapesite.s3: every S3 connection in a process shares one parsed copy of botocore's data, and
transfers run in the calling thread."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from typing import Any

import pytest
from boto3.s3.transfer import TransferConfig

from tapesite import s3
from tests.support.services import S3Server


def _storage(server: S3Server, bucket: str, **options: Any) -> s3.S3Storage:
    return s3.S3Storage(
        **options,
        bucket_name=bucket,
        access_key=server.access_key,
        secret_key=server.secret_key,
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        addressing_style="path",
        signature_version="s3v4",
        default_acl=None,
        file_overwrite=True,
    )


def test_connections_share_one_loader_and_each_has_its_own_pool(s3_storage: S3Server) -> None:
    from django.conf import settings
    from django.core.files.base import ContentFile

    user, guest = list(settings.TAPES_BUCKET_STORAGES)
    first, second = _storage(s3_storage, user), _storage(s3_storage, guest)

    first.save("a.txt", ContentFile(b"one"))
    second.save("b.txt", ContentFile(b"two"))

    assert first.open("a.txt").read() == b"one" and second.open("b.txt").read() == b"two"
    clients = [first.connection.meta.client, second.connection.meta.client]
    assert clients[0] is not clients[1]
    assert clients[0]._endpoint.http_session is not clients[1]._endpoint.http_session
    for client in clients:
        assert client._loader is s3.shared_loader()
    # boto3 adds its data folder for each session; the shared loader keeps it once.
    paths = list(s3.shared_loader().search_paths)
    assert _storage(s3_storage, user).connection.meta.client is not clients[0]
    assert s3.shared_loader().search_paths == paths
    assert len(set(paths)) == len(paths)


@pytest.mark.parametrize("configured", ["", "options", "setting"])
def test_transfers_start_no_threads_unless_configured_to(
    s3_storage: S3Server, monkeypatch: pytest.MonkeyPatch, settings: Any, configured: str
) -> None:
    from django.core.files.base import ContentFile

    bucket = next(iter(settings.TAPES_BUCKET_STORAGES))
    # The controls (a storage told to use threads, by its options or by the site's
    # AWS_S3_TRANSFER_CONFIG) show the count would see them.
    threaded = TransferConfig(use_threads=True)
    options = {"transfer_config": threaded} if configured == "options" else {}
    if configured == "setting":
        settings.AWS_S3_TRANSFER_CONFIG = threaded
    storage = _storage(s3_storage, bucket, **options)
    body = bytes(range(256)) * 4096  # 1 MB, a recorder tape's size
    storage.exists("warm.bin")  # the connection itself is not what is counted
    started: list[str] = []
    start = threading.Thread.start
    caller = threading.get_ident()

    def counting_start(thread: threading.Thread) -> None:
        # Only what this test's own calls start: other tests may leave threads running.
        if threading.get_ident() == caller:
            started.append(thread.name)
        start(thread)

    monkeypatch.setattr(threading.Thread, "start", counting_start)
    storage.save("t.bin", ContentFile(body))
    with storage.open("t.bin", "rb") as handle:
        assert handle.read() == body
    assert bool(started) is bool(configured), started


def _json_files_read(code: str) -> list[str]:
    """The botocore and boto3 data files a fresh process reads while it runs ``code`` (after
    ``tapesite.s3`` and boto3 are imported and ``prepare`` ran)."""
    program = textwrap.dedent(
        """
        import sys
        from tapesite import s3
        import boto3
        PREPARE
        opened = []
        def hook(event, args):
            name = args[0] if event == "open" else None
            if isinstance(name, str) and name.endswith((".json", ".json.gz")):
                opened.append(name)
        sys.addaudithook(hook)
        CODE
        print("\\n".join(opened))
        """
    )
    prepare, _, run = code.partition("\n---\n")
    program = program.replace("PREPARE", prepare).replace("CODE", run)
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=120, check=True
    )
    return [line for line in done.stdout.splitlines() if line]


_CONNECT = (
    "s3.S3Storage(bucket_name='b', access_key='k', secret_key='s', "
    "endpoint_url='http://127.0.0.1:9', region_name='us-east-1').connection.meta.client"
)


def test_after_warm_up_a_new_connection_parses_nothing() -> None:
    # What a work horse does: the worker warmed up before forking, the job connects.
    assert _json_files_read(f"s3.warm_up()\n---\n{_CONNECT}") == []
    # The control: without the warm-up the same connection reads the S3 model from its files
    # (and so does every connection of the library's own storage, shared loader or not).
    cold = _json_files_read(f"pass\n---\n{_CONNECT}")
    assert any("/service-2.json" in path for path in cold), cold
    library = _json_files_read(
        "s3.warm_up()\n---\nboto3.Session(aws_access_key_id='k', aws_secret_access_key='s')"
        ".resource('s3', region_name='us-east-1', endpoint_url='http://127.0.0.1:9')"
    )
    assert any("/service-2.json" in path for path in library), library
