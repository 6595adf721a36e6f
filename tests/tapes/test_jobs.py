"""The encode job end to end: PostgreSQL, Redis, a real RQ worker (forking work horses) and
storage. Retry, failure codes, idempotence and the reconcile step."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import av
import django_rq
import psutil
import pytest
from django.core.files.base import ContentFile
from django.db import connections
from django.utils import timezone
from rq.registry import ScheduledJobRegistry

from tapes import services
from tapes.models import Tape, TapeStatus
from tapes.queueing import ENCODE
from tapes.storage import storage_for
from tests.support import synth
from tests.tapes.factories import TapeUploadFactory, post

pytestmark = pytest.mark.django_db(transaction=True)


def worker_env(settings: Any, media: Path) -> dict[str, str]:
    """What a worker process on another machine would be configured with."""
    db = connections["default"].settings_dict
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tapesite.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "DJANGO_MEDIA_ROOT": str(media),
        "TAPES_MAX_ATTEMPTS": str(settings.TAPES_MAX_ATTEMPTS),
        "TAPES_WORKER_HEARTBEAT_GRACE_SECONDS": str(settings.TAPES_WORKER_HEARTBEAT_GRACE_SECONDS),
    }


def start_worker(settings: Any, media: Path) -> subprocess.Popen[bytes]:
    """A real worker process (``manage.py tapes_worker --burst``): it forks a work horse per job
    and exits when the queue is empty, as production workers do minus the waiting."""
    connections.close_all()
    return subprocess.Popen(
        [sys.executable, "manage.py", "tapes_worker", "--burst"],
        cwd=Path(__file__).resolve().parents[2],
        env=worker_env(settings, media),
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


@pytest.fixture
def run_worker(settings: Any, local_storage: Path) -> Any:
    def run() -> None:
        worker = start_worker(settings, local_storage)
        output, _ = worker.communicate(timeout=300)
        assert worker.returncode == 0, output.decode(errors="replace")[-3000:]

    return run


def post_zip(content: bytes) -> Tape:
    return post(TapeUploadFactory.create(content=content))


@pytest.fixture
def tape_bytes(tmp_path: Path) -> bytes:
    path = tmp_path / "t.zip"
    synth.make_tape(path, frames=12, width=64, height=48, scale=6, seed=3)
    return path.read_bytes()


def stored_names(tape: Tape) -> list[str]:
    storage = storage_for(tape.bucket)
    return sorted(storage.listdir("")[1])


def test_worker_encodes_a_posted_tape(tape_bytes: bytes, api: Any, run_worker: Any) -> None:
    tape = post_zip(tape_bytes)
    assert Tape.objects.get(pk=tape.pk).status == TapeStatus.QUEUED
    run_worker()
    tape.refresh_from_db()
    assert tape.status == TapeStatus.READY, (tape.failure_code, tape.failure_message)
    assert tape.progress == 100
    assert tape.attempts == 1
    assert (tape.frames, tape.width, tape.height, tape.scale) == (12, 64, 48, 6)
    assert tape.mp4_key == tape.zip_key.replace(".zip", ".mp4")
    assert tape.mp4_bytes and tape.thumbnail_bytes and tape.preview_bytes and tape.gif_bytes
    storage = storage_for(tape.bucket)
    with storage.open(tape.mp4_key, "rb") as handle, av.open(handle, "r") as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert len(list(container.decode(stream))) == 12
    body = api.get(f"/api/tapes/{tape.code}").json()
    assert body["status"] == "ready"
    assert body["frames"] == 12
    assert all(body["media"][k] for k in ("zip", "mp4", "thumbnail", "preview", "gif"))
    assert api.get(body["media"]["gif"]).status_code == 200
    assert api.get(body["media"]["mp4"]).status_code == 200


def test_an_invalid_archive_fails_at_once_with_its_code(api: Any, run_worker: Any) -> None:
    tape = post_zip(b"this is not a zip file at all")
    run_worker()
    tape.refresh_from_db()
    assert tape.status == TapeStatus.FAILED
    assert tape.failure_code == "validation_not_zip"
    assert tape.attempts == 1  # no retries for a bad archive
    failure = api.get(f"/api/tapes/{tape.code}").json()["failure"]
    assert failure["code"] == "validation_not_zip"
    assert failure["message"]
    # the upload is kept: nothing of the user's is lost by a failure
    assert storage_for(tape.bucket).exists(tape.zip_key)


def test_a_transient_failure_is_visible_and_retried(
    tape_bytes: bytes, settings: Any, api: Any, run_worker: Any
) -> None:
    settings.TAPES_RETRY_INTERVALS = [1]
    tape = services.tape_zip_take(tape=post_zip(tape_bytes))
    storage = storage_for(tape.bucket)
    storage.delete(tape.zip_key)  # storage lost it for a while
    run_worker()
    tape.refresh_from_db()
    assert tape.status == TapeStatus.QUEUED
    assert tape.failure_code == "zip_missing"
    assert tape.attempts == 1
    assert api.get(f"/api/tapes/{tape.code}").json()["failure"]["code"] == "zip_missing"
    queue = django_rq.get_queue(ENCODE.queue)
    assert ENCODE.job_id(tape.pk) in ScheduledJobRegistry(queue=queue).get_job_ids()

    storage.save(tape.zip_key, ContentFile(tape_bytes))
    time.sleep(1.5)  # let the back-off pass; the scheduler then moves the retry onto the queue
    run_worker()
    tape.refresh_from_db()
    assert tape.status == TapeStatus.READY
    assert tape.attempts == 2
    assert tape.failure_code == ""


def test_retries_stop_at_the_limit(tape_bytes: bytes, settings: Any, run_worker: Any) -> None:
    settings.TAPES_MAX_ATTEMPTS = 3
    settings.TAPES_RETRY_INTERVALS = [0]
    tape = services.tape_zip_take(tape=post_zip(tape_bytes))
    storage_for(tape.bucket).delete(tape.zip_key)
    for _ in range(3):
        run_worker()
        time.sleep(0.2)
    tape.refresh_from_db()
    assert tape.status == TapeStatus.FAILED
    assert tape.failure_code == "zip_missing"
    assert tape.attempts == 3


def test_running_the_job_twice_duplicates_nothing(tape_bytes: bytes, run_worker: Any) -> None:
    tape = post_zip(tape_bytes)
    run_worker()
    tape.refresh_from_db()
    first_files = stored_names(tape)
    first_mp4 = tape.mp4_key
    assert len(first_files) == 5  # zip, mp4, thumbnail, preview, gif

    # a duplicate delivery of the same job is a no-op for a ready tape...
    assert services.tape_encode(tape_id=tape.pk).status == TapeStatus.READY  # type: ignore[union-attr]
    # ...and a forced re-encode rewrites the same keys
    services.tape_reencode(tape=tape, actor=None, enqueue=False)
    services.tape_encode(tape_id=tape.pk)
    tape.refresh_from_db()
    assert tape.status == TapeStatus.READY
    assert tape.mp4_key == first_mp4
    assert stored_names(tape) == first_files
    assert Tape.objects.count() == 1


def test_reconcile_requeues_a_tape_whose_worker_died(
    tape_bytes: bytes, settings: Any, run_worker: Any
) -> None:
    tape = post_zip(tape_bytes)
    queue = django_rq.get_queue(ENCODE.queue)
    queue.empty()  # the job vanished with its worker
    stale = timezone.now() - timedelta(seconds=settings.TAPES_STUCK_AFTER_SECONDS + 5)
    Tape.objects.filter(pk=tape.pk).update(
        status=TapeStatus.PROCESSING, attempts=1, updated_at=stale
    )
    report = services.tapes_reconcile()
    assert report.requeued == [tape.pk]
    assert queue.job_ids == [ENCODE.job_id(tape.pk)]
    run_worker()
    tape.refresh_from_db()
    assert tape.status == TapeStatus.READY
    assert tape.attempts == 2


def test_a_killed_worker_is_recovered_by_reconcile(
    tmp_path: Path, settings: Any, local_storage: Path, run_worker: Any
) -> None:
    """SIGKILL a real worker process mid-encode; the tape must come back, not stay stuck."""
    path = tmp_path / "long.zip"
    synth.make_tape(path, frames=480, width=256, height=256, scale=6, seed=5)
    tape = post_zip(path.read_bytes())
    worker = start_worker(settings, local_storage)
    try:
        deadline = time.monotonic() + 60
        while Tape.objects.get(pk=tape.pk).progress < 10:
            assert time.monotonic() < deadline, "the worker never started encoding"
            assert worker.poll() is None, "the worker exited before it was killed"
            time.sleep(0.05)
    finally:
        # The machine dies: the worker and its work horse, which RQ puts in a session of its own
        # (so a kill of the worker's process group alone would leave it running).
        doomed = [worker.pid, *(child.pid for child in psutil.Process(worker.pid).children(True))]
        for pid in doomed:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        worker.wait(timeout=10)
    tape.refresh_from_db()
    assert tape.status == TapeStatus.PROCESSING

    settings.TAPES_WORKER_HEARTBEAT_GRACE_SECONDS = 1
    time.sleep(1.5)  # the dead worker's last heartbeat ages past the grace
    stale = timezone.now() - timedelta(seconds=settings.TAPES_STUCK_AFTER_SECONDS + 5)
    Tape.objects.filter(pk=tape.pk).update(updated_at=stale)
    assert services.tapes_reconcile().requeued == [tape.pk]
    run_worker()
    tape.refresh_from_db()
    assert tape.status == TapeStatus.READY
    assert tape.attempts == 2
    assert len(stored_names(tape)) == 5  # zip, mp4, thumbnail, preview, gif


def test_the_pipeline_on_s3(tape_bytes: bytes, settings: Any, s3_storage: Any) -> None:
    """The production path: the ZIP in an S3 bucket (SeaweedFS), a worker configured for S3 by
    its environment alone, the outputs written beside the ZIP in the bucket."""
    tape = post_zip(tape_bytes)
    env = {
        **worker_env(settings, Path("/nonexistent")),
        "TAPES_STORAGE": "s3",
        "AWS_ACCESS_KEY_ID": s3_storage.access_key,
        "AWS_SECRET_ACCESS_KEY": s3_storage.secret_key,
        "AWS_S3_ENDPOINT_URL": s3_storage.endpoint,
    }
    connections.close_all()
    done = subprocess.run(
        [sys.executable, "manage.py", "tapes_worker", "--burst"],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    tape.refresh_from_db()
    assert tape.status == TapeStatus.READY, (tape.failure_code, tape.failure_message)
    storage = storage_for(tape.bucket)
    for key in (tape.zip_key, tape.mp4_key, tape.thumbnail_key, tape.preview_key, tape.gif_key):
        assert storage.exists(key), key
    assert storage.size(tape.mp4_key) == tape.mp4_bytes
