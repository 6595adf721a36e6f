"""Relocation: a claimed guest tape's files move to its owner's place in the user bucket.

Copy, verify, switch the row, then delete the originals: at every moment the row points at files
that exist, so a failure anywhere loses nothing and the next try (the claim itself, the end of the
tape's encode job, or the reconcile step) starts over safely. Only a tape at rest (ready or failed)
moves: an encode in progress writes beside the ZIP it started from, and moves it when it ends.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from tapes.files import tape_stored_files
from tapes.models import Tape, TapeStatus
from tapes.storage import bucket_for, s3_client, storage_for, zip_key
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


def _delete_quietly(storage: Storage, keys: list[str]) -> None:
    for key in keys:
        try:
            storage.delete(key)
        except Exception as exc:  # an orphan in the guest bucket costs space, not data
            logger.warning("could not delete %s after relocating it: %s", key, exc)


def tape_relocate(*, tape_id: int) -> bool:
    """Move an owned tape's files from wherever they are to the owner's bucket and prefix.

    True when the tape is now where it belongs (moved, or already there); False when it is not at
    rest yet or storage failed (logged; a later call retries). Idempotent and safe to run from
    several processes: the row is locked for the move, and copies go to fixed keys.
    """
    try:
        return _relocate(tape_id)
    except Exception as exc:  # storage down, a vanished source: the row still points at the old
        logger.warning("relocating tape %s failed, will retry: %s", tape_id, exc)
        return False


def _relocate(tape_id: int) -> bool:
    old_bucket = ""
    old_keys: list[str] = []
    with transaction.atomic():
        tape = Tape.objects.select_for_update().filter(pk=tape_id).first()
        if tape is None or tape.user_id is None:
            return False
        target = bucket_for(user_id=tape.user_id)
        new_zip = zip_key(user_id=tape.user_id, slug=tape.slug)
        if tape.bucket == target and tape.zip_key == new_zip:
            return True
        if tape.status not in AT_REST:
            return False
        src, dst = storage_for(tape.bucket), storage_for(target)
        changes: dict[str, Any] = {"bucket": target}
        for file, key in tape_stored_files(tape):
            new_key = _moved_key(key, old_zip=tape.zip_key, new_zip=new_zip)
            _copy_verified(src, key, dst, new_key)
            changes[file.key_field] = new_key
            old_keys.append(key)
        old_bucket = tape.bucket
        Tape.objects.filter(pk=tape_id).update(**changes, updated_at=timezone.now())
        transaction.on_commit(lambda: _delete_quietly(storage_for(old_bucket), old_keys))
    logger.info("relocated tape %s from %s to %s", tape_id, old_bucket, changes["bucket"])
    return True


def tapes_relocation_pending() -> QuerySet[Tape]:
    """Owned tapes at rest whose files are still in the guest bucket (a claim whose move failed
    or waited for the encode): the reconcile step moves them."""
    return Tape.objects.filter(
        user__isnull=False, bucket=settings.TAPES_GUEST_BUCKET, status__in=AT_REST
    )
