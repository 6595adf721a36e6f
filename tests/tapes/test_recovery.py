"""Recovery without waiting and without leftovers (issue 12, findings 8-10): a tape whose job
vanished is requeued at once, killed workers' working folders are cleaned, deleting a user is
decided, and public failure messages are plain."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import django_rq
import pytest
from django.core.files.base import ContentFile

from tapes import services
from tapes.models import Tape, TapeStatus, TapeUpload
from tapes.queueing import ENCODE
from tapes.services.encoding import WORKDIR_PREFIX
from tapes.storage import storage_for
from tests.conftest import tiny_zip

pytestmark = pytest.mark.django_db


def _posted(user: Any = None, piece: str = "line") -> Tape:
    ticket = services.tape_upload_start(user=user, piece=piece, size=1000, base_url="http://x/")
    storage_for(ticket.upload.bucket).save(ticket.upload.key, ContentFile(tiny_zip()))
    tape = services.tape_post(user=user, slug=ticket.upload.slug, upload_token=ticket.token).tape
    return services.tape_zip_take(tape=tape)  # as its encode job starts


# --- 8 --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [TapeStatus.QUEUED, TapeStatus.PROCESSING])
def test_a_tape_whose_job_vanished_is_requeued_at_once(
    status: TapeStatus, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        tape = _posted()
    queue = django_rq.get_queue(ENCODE.queue)
    assert queue.job_ids == [ENCODE.job_id(tape.pk)]
    Tape.objects.filter(pk=tape.pk).update(status=status)
    queue.connection.flushdb()  # Redis restarted without its data
    settings.TAPES_STUCK_AFTER_SECONDS = 900
    report = services.tapes_reconcile()
    assert report.requeued == [tape.pk]
    assert queue.job_ids == [ENCODE.job_id(tape.pk)]
    tape.refresh_from_db()
    assert tape.status == TapeStatus.QUEUED


def test_a_tape_with_a_live_job_is_left_alone(django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        tape = _posted()
    report = services.tapes_reconcile()
    assert report.requeued == [] and report.enqueued == []
    assert django_rq.get_queue(ENCODE.queue).job_ids == [ENCODE.job_id(tape.pk)]


def test_a_job_that_says_queued_but_sits_in_no_queue_is_requeued_once_quiet(
    settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # What a worker killed between popping the job id and marking the job started leaves.
    with django_capture_on_commit_callbacks(execute=True):
        tape = _posted()
    queue = django_rq.get_queue(ENCODE.queue)
    job_id = ENCODE.job_id(tape.pk)
    queue.connection.lrem(queue.key, 0, job_id)
    assert queue.fetch_job(job_id) is not None and queue.job_ids == []
    settings.TAPES_STUCK_AFTER_SECONDS = 900
    assert services.tapes_reconcile().requeued == []  # not quiet long enough yet
    settings.TAPES_STUCK_AFTER_SECONDS = 0
    report = services.tapes_reconcile()
    assert report.requeued == [tape.pk]
    assert queue.job_ids == [job_id]


# --- 9 --------------------------------------------------------------------------------------------


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_killed_workers_folders_are_cleaned_and_live_ones_kept() -> None:
    root = Path(tempfile.gettempdir())
    dead = Path(tempfile.mkdtemp(prefix=f"{WORKDIR_PREFIX}{_dead_pid()}-", dir=root))
    (dead / "tape.zip").write_bytes(b"x" * 1024)
    live = Path(tempfile.mkdtemp(prefix=f"{WORKDIR_PREFIX}{os.getpid()}-", dir=root))
    try:
        assert services.tape_workdirs_clean() >= 1
        assert not dead.exists()
        assert live.exists()
        old = time.time() - 7 * 3600
        os.utime(live, (old, old))
        services.tape_workdirs_clean()
        assert not live.exists()  # a reused pid does not keep a folder forever
    finally:
        for folder in (dead, live):
            if folder.exists():
                folder.rmdir() if not any(folder.iterdir()) else None


def test_the_worker_cleans_at_start(settings: Any) -> None:
    from tapes.worker import clean_workdirs

    dead = Path(tempfile.mkdtemp(prefix=f"{WORKDIR_PREFIX}{_dead_pid()}-"))
    clean_workdirs()
    assert not dead.exists()


# --- 10 -------------------------------------------------------------------------------------------


def test_deleting_a_user_whose_slug_a_guest_also_has(user: Any) -> None:
    """Used to raise IntegrityError: the user's tapes became guests' tapes with a taken slug."""
    guest_tape = _posted(piece="same")
    users_tape = _posted(user=user, piece="same")
    Tape.objects.filter(pk=users_tape.pk).update(slug=guest_tape.slug)
    files = storage_for(users_tape.bucket)
    assert files.exists(users_tape.zip_key)

    user_id = user.pk
    assert services.tapes_delete_for_user(user=user) == 1
    user.delete()
    assert not Tape.objects.filter(pk=users_tape.pk).exists()
    assert not TapeUpload.objects.filter(user_id=user_id).exists()
    assert not files.exists(users_tape.zip_key)
    assert Tape.objects.filter(pk=guest_tape.pk).exists()


def test_deleting_users_in_the_admin_removes_their_files_too(
    user: Any, other_user: Any, client: Any, django_user_model: Any
) -> None:
    admin = django_user_model.objects.create_superuser(username="root", password="pw")
    client.force_login(admin)
    mine, theirs = _posted(user=user), _posted(user=other_user)
    guest = _posted()
    files = storage_for(mine.bucket)
    # One from the user's own page, the other with the list's bulk action.
    done = client.post(f"/admin/accounts/user/{user.pk}/delete/", {"post": "yes"})
    assert done.status_code == 302
    done = client.post(
        "/admin/accounts/user/",
        {"action": "delete_selected", "_selected_action": [other_user.pk], "post": "yes"},
    )
    assert done.status_code == 302
    for tape in (mine, theirs):
        assert not Tape.objects.filter(pk=tape.pk).exists()
        assert not files.exists(tape.zip_key)
    assert not django_user_model.objects.filter(pk__in=[user.pk, other_user.pk]).exists()
    assert storage_for(guest.bucket).exists(guest.zip_key)


def test_deleting_a_user_directly_cascades(user: Any) -> None:
    guest_tape = _posted(piece="same")
    users_tape = _posted(user=user, piece="same")
    Tape.objects.filter(pk=users_tape.pk).update(slug=guest_tape.slug)
    user.delete()  # the admin's delete: no IntegrityError, the user's tapes go
    assert list(Tape.objects.values_list("pk", flat=True)) == [guest_tape.pk]


def test_public_failure_messages_are_plain(settings: Any, api: Any, tmp_path: Path) -> None:
    tape = _posted()
    # The ZIP's storage breaks with an exception full of internals (a path, an errno).
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    settings.STORAGES = {
        **settings.STORAGES,
        settings.TAPES_BUCKET_STORAGES[tape.bucket]: {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(blocker / "secret" / "tapes")},
        },
    }
    settings.TAPES_MAX_ATTEMPTS = 1
    services.tape_encode(tape_id=tape.pk)
    tape.refresh_from_db()
    assert tape.status == TapeStatus.FAILED
    failure = api.get(f"/api/tapes/{tape.code}").json()["failure"]
    assert failure["code"] == "storage_unavailable"
    assert "/" not in failure["message"] and "Errno" not in failure["message"]
    assert set(failure) == {"code", "message"}
    # The detail is kept for logs and the admin.
    assert "NotADirectoryError" in tape.failure_detail
