"""Relocation: a claimed guest tape's files move to its owner's place in the user bucket, on the
queue (a claim of a hundred tapes only records that they must move).

Copy, verify, switch the row; the originals are deleted only later, by the reconcile step, once
every link handed out before the switch has expired. So at every moment the row names files that
exist and the tape plays throughout, and a failure anywhere loses nothing: the next try (the job's
retry, the end of the tape's encode, or reconcile) starts over safely. ``TapeRelocation`` keeps
how it went: attempts, the last failure (visible to staff), and the originals still to delete.
Only a tape at rest (ready or failed) moves: an encode in progress writes beside the ZIP it
started from, and moves it when it ends.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from tapes.files import tape_stored_files
from tapes.models import RelocationState, Tape, TapeRelocation, TapeStatus
from tapes.queueing import RELOCATE
from tapes.storage import bucket_for, s3_client, storage_for, zip_key
from tapesite import queueing
from tapesite.errors import TapesiteError

logger = logging.getLogger(__name__)

AT_REST = (TapeStatus.READY, TapeStatus.FAILED)


def _moved_key(old: str, *, old_zip: str, new_zip: str) -> str:
    old_stem, new_stem = old_zip.removesuffix(".zip"), new_zip.removesuffix(".zip")
    if old.startswith(old_stem):
        return new_stem + old[len(old_stem) :]
    return new_zip.rsplit("/", 1)[0] + "/" + old.rsplit("/", 1)[-1]


def _sha256(storage: Storage, key: str) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with storage.open(key, "rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _server_side_copy(src: Storage, src_key: str, dst: Storage, dst_key: str) -> bool:
    """Copy inside the S3 service when both ends are S3; True if it did, verified by size and
    ETag (an MD5 for single-part objects, which presigned POST uploads and our outputs are)."""
    src_client, dst_client = s3_client(src), s3_client(dst)
    if src_client is None or dst_client is None:
        return False
    src_bucket: str = src.bucket_name  # type: ignore[attr-defined]
    dst_bucket: str = dst.bucket_name  # type: ignore[attr-defined]
    dst_client.copy_object(
        Bucket=dst_bucket, Key=dst_key, CopySource={"Bucket": src_bucket, "Key": src_key}
    )
    before = src_client.head_object(Bucket=src_bucket, Key=src_key)
    after = dst_client.head_object(Bucket=dst_bucket, Key=dst_key)
    if before["ContentLength"] != after["ContentLength"]:
        raise TapesiteError(
            "relocate_verify_failed", f"The copy of {src_key} has another size.", retryable=True
        )
    # ETags differ for multipart objects; then compare the bytes themselves.
    if before.get("ETag") != after.get("ETag") and _sha256(src, src_key) != _sha256(dst, dst_key):
        raise TapesiteError(
            "relocate_verify_failed", f"The copy of {src_key} differs.", retryable=True
        )
    return True


def _copy_verified(src: Storage, src_key: str, dst: Storage, dst_key: str) -> None:
    if _server_side_copy(src, src_key, dst, dst_key):
        return
    with src.open(src_key, "rb") as handle:
        stored = dst.save(dst_key, File(handle, name=dst_key))
    if stored != dst_key:
        raise TapesiteError("storage_renamed", f"Storage saved {dst_key} as {stored}.", status=500)
    if _sha256(src, src_key) != _sha256(dst, dst_key):
        raise TapesiteError(
            "relocate_verify_failed", f"The copy of {src_key} differs.", retryable=True
        )


class Relocated(Enum):
    MOVED = "moved"  # its files moved now
    HOME = "home"  # they were already where they belong
    WAITING = "waiting"  # not at rest (or nuked, or not owned): nothing to do yet
    RETRY = "retry"  # storage failed; attempts remain
    FAILED = "failed"  # storage failed and no attempts remain: staff see it


def tape_relocation_request(*, tape: Tape) -> None:
    """Record, in the caller's transaction (a claim's), that ``tape``'s files must move, and
    queue the move once it commits. A lost enqueue is found again by reconcile."""
    TapeRelocation.objects.update_or_create(
        tape=tape,
        defaults={
            "state": RelocationState.PENDING,
            "attempts": 0,
            "failure_code": "",
            "failure_message": "",
        },
    )
    tape_id = tape.pk
    transaction.on_commit(lambda: tape_relocation_enqueue(tape_id=tape_id))


def tape_relocation_enqueue(*, tape_id: int) -> bool:
    """Queue the move; never raises for a queue outage (reconcile enqueues it later)."""
    try:
        queueing.enqueue(RELOCATE, tape_id)
    except queueing.QueueUnavailable as exc:
        logger.warning(
            "relocate queue unavailable for tape %s, reconcile will retry: %s", tape_id, exc
        )
        return False
    return True


def tape_relocation_retry(*, tape: Tape) -> None:
    """Staff: try a failed move again from the start (its files never left the guest bucket)."""
    with transaction.atomic():
        tape_relocation_request(tape=tape)


def tape_relocate(*, tape_id: int) -> Relocated:
    """Move an owned tape's files from wherever they are to the owner's bucket and prefix.

    Idempotent and safe to run from several processes: the row is locked for the move, and
    copies go to fixed keys. Never raises: a storage failure is recorded on the tape's
    ``TapeRelocation`` (RETRY while attempts remain, then FAILED) and the row still names the
    files where they were.
    """
    try:
        return _relocate(tape_id)
    except Exception as exc:  # storage down, a vanished source: the row still points at the old
        return _record_failure(tape_id, exc)


def _record_failure(tape_id: int, exc: Exception) -> Relocated:
    code = exc.code if isinstance(exc, TapesiteError) else "relocate_storage_failed"
    message = f"{type(exc).__name__}: {exc}"[:2000]
    relocation, _ = TapeRelocation.objects.get_or_create(tape_id=tape_id)
    TapeRelocation.objects.filter(pk=relocation.pk).update(
        attempts=F("attempts") + 1,
        failure_code=code,
        failure_message=message,
        updated_at=timezone.now(),
    )
    relocation.refresh_from_db()
    if relocation.attempts >= int(settings.TAPES_MAX_ATTEMPTS):
        TapeRelocation.objects.filter(pk=relocation.pk).update(state=RelocationState.FAILED)
        logger.error(
            "relocating tape %s failed %s times, gave up: %s", tape_id, relocation.attempts, message
        )
        return Relocated.FAILED
    logger.warning("relocating tape %s failed, will retry: %s", tape_id, message)
    return Relocated.RETRY


def _relocate(tape_id: int) -> Relocated:
    with transaction.atomic():
        tape = Tape.objects.select_for_update().filter(pk=tape_id).first()
        if tape is None or tape.user_id is None:
            return Relocated.WAITING
        target = bucket_for(user_id=tape.user_id)
        new_zip = zip_key(user_id=tape.user_id, slug=tape.slug)
        if tape.bucket == target and tape.zip_key == new_zip:
            return Relocated.HOME
        # A nuked tape stays put (purge may be deleting its files); un-nuked, reconcile moves it.
        if tape.status not in AT_REST or tape.nuked:
            return Relocated.WAITING
        src, dst = storage_for(tape.bucket), storage_for(target)
        changes: dict[str, Any] = {"bucket": target}
        old_keys: list[str] = []
        for file, key in tape_stored_files(tape):
            new_key = _moved_key(key, old_zip=tape.zip_key, new_zip=new_zip)
            _copy_verified(src, key, dst, new_key)
            changes[file.key_field] = new_key
            old_keys.append(key)
        now = timezone.now()
        Tape.objects.filter(pk=tape_id).update(**changes, updated_at=now)
        # The originals stay until links to them have expired (tape_relocation_originals_delete).
        TapeRelocation.objects.update_or_create(
            tape_id=tape_id,
            defaults={
                "state": RelocationState.MOVED,
                "moved_at": now,
                "old_bucket": tape.bucket,
                "old_keys": old_keys,
                "originals_deleted_at": None,
                "failure_code": "",
                "failure_message": "",
            },
        )
    logger.info("relocated tape %s from %s to %s", tape_id, tape.bucket, target)
    return Relocated.MOVED


def originals_grace() -> timedelta:
    """How long the originals outlive the switch: a media link handed out just before it (a
    redirect to storage) lives TAPES_MEDIA_URL_SECONDS; twice that covers requests in flight."""
    return timedelta(seconds=2 * int(settings.TAPES_MEDIA_URL_SECONDS))


def tape_relocation_originals_delete(*, now: datetime | None = None) -> list[int]:
    """Delete the originals of moves whose grace has passed; returns the tapes done. Storage
    down: the row keeps its list and the next reconcile tries again."""
    now = now or timezone.now()
    done: list[int] = []
    due = TapeRelocation.objects.filter(
        state=RelocationState.MOVED,
        originals_deleted_at__isnull=True,
        moved_at__lte=now - originals_grace(),
    )
    for relocation in due[:200]:
        try:
            storage = storage_for(relocation.old_bucket)
            for key in relocation.old_keys:
                storage.delete(key)
        except Exception as exc:  # an orphan costs space, not data; retried next time
            logger.warning("could not delete the originals of tape %s: %s", relocation.tape_id, exc)
            continue
        TapeRelocation.objects.filter(pk=relocation.pk).update(originals_deleted_at=now)
        done.append(relocation.tape_id)
    return done


def tapes_relocation_pending() -> QuerySet[Tape]:
    """Owned tapes at rest whose files are still in the guest bucket (a claim whose job was
    lost, or that waited for the encode) and whose move has not failed for good: reconcile
    queues their move."""
    return (
        Tape.objects.visible()
        .filter(user__isnull=False, bucket=settings.TAPES_GUEST_BUCKET, status__in=AT_REST)
        .exclude(relocation__state=RelocationState.FAILED)
    )
