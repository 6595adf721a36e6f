"""Writes: every change to a tape goes through here."""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from tapes import codes, queueing
from tapes.models import Tape, TapeStatus, TapeUpload
from tapes.storage import (
    UploadForm,
    bucket_for,
    sibling_key,
    storage_for,
    upload_form,
    upload_too_large,
    zip_key,
)
from tapesite.errors import TapesiteError

logger = logging.getLogger(__name__)

_SLUG_TRIES = 5


@dataclass(frozen=True)
class UploadTicket:
    upload: TapeUpload
    form: UploadForm


def _owner_id(user: User | None) -> int | None:
    return user.pk if user is not None and user.is_authenticated else None


def _set_status(
    tape_id: int, status: TapeStatus, *, only_from: TapeStatus | None = None, **fields: Any
) -> int:
    """Move a tape to ``status`` (optionally only from ``only_from``) with any other fields, in
    one UPDATE: status changes race with the worker, so they never go through a stale ``save()``."""
    now = timezone.now()
    tapes = Tape.objects.filter(pk=tape_id)
    if only_from is not None:
        tapes = tapes.filter(status=only_from)
    return tapes.update(status=status, status_changed_at=now, updated_at=now, **fields)


def _violated_constraint(exc: IntegrityError) -> str:
    """The name (PostgreSQL) or column list (SQLite) of the constraint an insert broke."""
    diag = getattr(exc.__cause__, "diag", None)
    name = getattr(diag, "constraint_name", None)
    return name or str(exc)


def tape_upload_start(
    *, user: User | None, piece: str | None, size: int, base_url: str
) -> UploadTicket:
    """Reserve a slug and its storage key, and sign an upload policy for exactly that key."""
    max_bytes = int(settings.TAPES_UPLOAD_MAX_BYTES)
    if size > max_bytes:
        raise upload_too_large(max_bytes=max_bytes, size=size)
    owner_id = _owner_id(user)
    bucket = bucket_for(user_id=owner_id)
    now = timezone.now()
    for attempt in range(_SLUG_TRIES):
        # Two posts of one piece in the same millisecond would share a slug: the unique
        # constraint catches it and the later one moves on by a millisecond.
        slug = codes.make_slug(piece, now + timedelta(milliseconds=attempt))
        upload = TapeUpload(
            user_id=owner_id,
            slug=slug,
            bucket=bucket,
            key=zip_key(user_id=owner_id, slug=slug),
            declared_bytes=size,
            max_bytes=max_bytes,
            expires_at=now + timedelta(seconds=int(settings.TAPES_UPLOAD_EXPIRES_SECONDS)),
        )
        # The database enforces the unique constraints; checking them first would only race.
        upload.full_clean(validate_unique=False, validate_constraints=False)
        try:
            with transaction.atomic():
                upload.save()
        except IntegrityError:
            continue
        form = upload_form(
            bucket=bucket, key=upload.key, max_bytes=max_bytes, request_base_url=base_url
        )
        return UploadTicket(upload=upload, form=form)
    raise TapesiteError(
        "slug_taken", "Could not reserve a slug for this piece; try again.", status=409
    )


def _find_upload(*, user_id: int | None, slug: str) -> TapeUpload:
    if codes.parse_slug(slug) is None:
        raise TapesiteError(
            "slug_invalid",
            "A slug looks like 'piece-YYYY.MM.DD.HH.MM.SS.mmm' and comes from /api/tapes/uploads.",
            details={"slug": slug[:100]},
        )
    slots = TapeUpload.objects.filter(slug=slug)
    slots = slots.filter(user_id=user_id) if user_id else slots.filter(user__isnull=True)
    upload = slots.first()
    if upload is None:
        raise TapesiteError(
            "upload_missing",
            "No upload was started for this slug by you; start one at /api/tapes/uploads.",
            details={"slug": slug},
        )
    return upload


def _stored_size(upload: TapeUpload) -> int:
    storage = storage_for(upload.bucket)
    try:
        exists = storage.exists(upload.key)
        size = storage.size(upload.key) if exists else 0
    except Exception as exc:  # any backend error: boto, OSError
        logger.warning("storage unreachable checking %s: %s", upload.key, exc)
        raise TapesiteError(
            "storage_unavailable",
            "Storage could not be reached; your upload is safe, try posting again.",
            status=503,
            retryable=True,
        ) from exc
    if not exists or size == 0:
        raise TapesiteError(
            "upload_missing",
            "The tape's ZIP has not arrived in storage; upload it first, then post.",
            details={"slug": upload.slug},
        )
    if size > upload.max_bytes:
        raise upload_too_large(max_bytes=upload.max_bytes, size=size)
    return size


def _insert_with_fresh_code(tape: Tape) -> None:
    """Insert ``tape`` under a random code that no other tape has, growing the length when the
    space is crowded. Race-free: the unique constraint decides; a conflict just draws again."""
    alphabet: str = settings.TAPES_CODE_ALPHABET
    tries: int = settings.TAPES_CODE_ATTEMPTS_PER_LENGTH
    for length in range(settings.TAPES_CODE_MIN_LENGTH, settings.TAPES_CODE_MAX_LENGTH + 1):
        for _ in range(tries):
            tape.code = codes.random_code(alphabet, length)
            try:
                with transaction.atomic():
                    tape.save(force_insert=True)
                return
            except IntegrityError as exc:
                if "code" not in _violated_constraint(exc):
                    raise
    raise TapesiteError("code_space_exhausted", "No free short code could be found.", status=503)


def tape_create(*, user: User | None, slug: str, metadata: dict[str, Any] | None = None) -> Tape:
    """Register an uploaded ZIP as a tape with a fresh short code, and queue its encoding."""
    owner_id = _owner_id(user)
    upload = _find_upload(user_id=owner_id, slug=slug)
    if upload.tape_id is not None:
        raise _slug_taken(slug)
    # Storage is asked before the transaction opens: no row lock waits on the network.
    size = _stored_size(upload)
    parsed = codes.parse_slug(slug)
    assert parsed is not None  # _find_upload validated it
    now = timezone.now()
    tape = Tape(
        slug=slug,
        user_id=owner_id,
        when=now,
        bucket=upload.bucket,
        piece=parsed[0],
        metadata=metadata or {},
        zip_key=upload.key,
        zip_bytes=size,
        status=TapeStatus.UPLOADED,
        status_changed_at=now,
    )
    tape.code = "-"  # placeholder so full_clean can run; the real one is drawn at insert
    tape.full_clean(validate_unique=False, validate_constraints=False)
    with transaction.atomic():
        try:
            _insert_with_fresh_code(tape)
        except IntegrityError as exc:
            raise _slug_taken(slug) from exc
        # Only this request may claim the slot: a concurrent post of the same slug loses here.
        if not TapeUpload.objects.filter(pk=upload.pk, tape__isnull=True).update(tape=tape):
            raise _slug_taken(slug)
        tape_id = tape.pk
        transaction.on_commit(lambda: tape_enqueue_encode(tape_id=tape_id))
    return tape


def _slug_taken(slug: str) -> TapesiteError:
    return TapesiteError(
        "slug_taken", "This slug is already posted.", status=409, details={"slug": slug}
    )


def tape_enqueue_encode(*, tape_id: int) -> bool:
    """Hand the tape to the encode queue. Never raises for a queue outage: the tape stays
    ``uploaded`` and the reconcile step enqueues it later."""
    try:
        queueing.enqueue_encode(tape_id)
    except queueing.QueueUnavailable as exc:
        logger.warning(
            "encode queue unavailable for tape %s, reconcile will retry: %s", tape_id, exc
        )
        return False
    # Only move forward: a fast worker may already have marked it processing.
    _set_status(tape_id, TapeStatus.QUEUED, only_from=TapeStatus.UPLOADED)
    return True


@transaction.atomic
def tape_nuke(*, tape: Tape, actor: User) -> Tape:
    """Soft-delete: the tape disappears from every public read but nothing is erased."""
    if not (actor.is_staff or (tape.user_id is not None and tape.user_id == actor.pk)):
        raise TapesiteError(
            "forbidden", "Only the tape's owner or staff can delete it.", status=403
        )
    if not tape.nuked:
        tape.nuked = True
        tape.nuked_at = timezone.now()
        tape.save(update_fields=["nuked", "nuked_at", "updated_at"])
    return tape


@dataclass
class ReconcileReport:
    enqueued: list[int]
    requeued: list[int]
    gave_up: list[int]
    abandoned_uploads: int = 0
    queue_down: bool = False


def tape_uploads_sweep(*, now: datetime | None = None) -> int:
    """Delete upload slots that were never posted, and their ZIPs, once they are
    TAPES_UPLOAD_ABANDONED_AFTER_SECONDS old: storage for tapes nobody posted is not kept forever.
    A posted slot is never touched."""
    cutoff = (now or timezone.now()) - timedelta(
        seconds=int(settings.TAPES_UPLOAD_ABANDONED_AFTER_SECONDS)
    )
    swept = 0
    for upload in TapeUpload.objects.filter(tape__isnull=True, expires_at__lt=cutoff)[:500]:
        try:
            storage_for(upload.bucket).delete(upload.key)
        except Exception as exc:  # storage down: keep the row so a later sweep retries
            logger.warning("could not delete abandoned upload %s: %s", upload.key, exc)
            continue
        # Conditional: a post that claimed the slot meanwhile keeps it.
        swept += TapeUpload.objects.filter(pk=upload.pk, tape__isnull=True).delete()[0]
    return swept


def tapes_reconcile(*, uploaded_grace_seconds: int = 5) -> ReconcileReport:
    """Put every tape that should be moving back on the queue.

    - ``uploaded`` tapes were posted while the queue was down (or the enqueue was lost): enqueue.
    - ``queued``/``processing`` tapes with no sign of life past TAPES_STUCK_AFTER_SECONDS and no
      live job (a killed worker, a flushed Redis): requeue, or fail them once out of attempts.
    Safe to run from many places at once: the enqueue is idempotent per tape.
    """
    now = timezone.now()
    report = ReconcileReport(enqueued=[], requeued=[], gave_up=[])
    report.abandoned_uploads = tape_uploads_sweep(now=now)
    waiting = Tape.objects.visible().filter(
        status=TapeStatus.UPLOADED,
        status_changed_at__lte=now - timedelta(seconds=uploaded_grace_seconds),
    )
    for tape_id in waiting.values_list("id", flat=True):
        if not tape_enqueue_encode(tape_id=tape_id):
            report.queue_down = True
            return report
        report.enqueued.append(tape_id)
    stuck = Tape.objects.visible().filter(
        status__in=[TapeStatus.QUEUED, TapeStatus.PROCESSING],
        updated_at__lte=now - timedelta(seconds=int(settings.TAPES_STUCK_AFTER_SECONDS)),
    )
    for tape_id, attempts in stuck.values_list("id", "attempts"):
        try:
            if queueing.encode_job_is_live(tape_id):
                continue
        except queueing.QueueUnavailable:
            report.queue_down = True
            return report
        if attempts >= int(settings.TAPES_MAX_ATTEMPTS):
            _mark_failed(
                tape_id,
                "encode_gave_up",
                f"Encoding stopped without finishing {attempts} times; giving up.",
            )
            report.gave_up.append(tape_id)
            continue
        _set_status(tape_id, TapeStatus.UPLOADED)
        if not tape_enqueue_encode(tape_id=tape_id):
            report.queue_down = True
            return report
        report.requeued.append(tape_id)
    return report


def _mark_failed(tape_id: int, code: str, message: str) -> None:
    _set_status(tape_id, TapeStatus.FAILED, failure_code=code, failure_message=message[:2000])


class RetryLater(Exception):
    """Raised by the encode job after recording a transient failure, so RQ retries it."""


def _progress_writer(tape_id: int, also: Callable[[float], None] | None) -> Callable[[float], None]:
    last = [-1]

    def report(fraction: float) -> None:
        fraction = max(0.0, min(1.0, fraction))
        if also is not None:
            also(fraction)
        # 5..95: downloading and storing take the ends of the bar.
        percent = 5 + int(fraction * 90)
        if percent - last[0] >= 5:
            last[0] = percent
            Tape.objects.filter(pk=tape_id).update(progress=percent, updated_at=timezone.now())

    return report


def _download(tape: Tape, target: Path) -> None:
    storage = storage_for(tape.bucket)
    try:
        with storage.open(tape.zip_key, "rb") as source, target.open("wb") as sink:
            shutil.copyfileobj(source, sink, 1024 * 1024)
    except FileNotFoundError as exc:
        raise TapesiteError(
            "zip_missing", "The tape's ZIP is not in storage.", retryable=True
        ) from exc
    except Exception as exc:  # boto/OSError: storage unreachable or throttling
        raise TapesiteError(
            "storage_unavailable", f"Could not read the tape's ZIP: {exc}", retryable=True
        ) from exc


def _store(tape: Tape, key: str, path: Path) -> int:
    storage = storage_for(tape.bucket)
    try:
        with path.open("rb") as handle:
            stored = storage.save(key, File(handle, name=key))
    except Exception as exc:
        raise TapesiteError(
            "storage_unavailable", f"Could not store {key}: {exc}", retryable=True
        ) from exc
    if stored != key:  # a backend that renames instead of overwriting would duplicate files
        raise TapesiteError("storage_renamed", f"Storage saved {key} as {stored}.", status=500)
    return path.stat().st_size


def _encoder_overrides() -> dict[str, Any]:
    return dict(settings.TAPES_ENCODER)


def _encode_files(
    tape: Tape, workdir: Path, on_progress: Callable[[float], None] | None
) -> dict[str, Any]:
    from tapes import archive, encoder

    zip_path = workdir / "tape.zip"
    _download(tape, zip_path)
    info = archive.inspect_archive(
        zip_path, archive.ArchiveLimits.from_settings(settings.TAPES_ARCHIVE_LIMITS)
    )
    Tape.objects.filter(pk=tape.pk).update(
        frames=info.frames,
        duration_ms=round(info.total_duration_ms),
        width=info.width,
        height=info.height,
        scale=info.scale,
        discrepancies=list(info.discrepancies),
        progress=5,
        updated_at=timezone.now(),
    )
    outputs = {
        "mp4": (workdir / "tape.mp4", sibling_key(tape.zip_key, ".mp4")),
        "thumbnail": (workdir / "thumb.webp", sibling_key(tape.zip_key, "-thumb.webp")),
        "preview": (workdir / "preview.webp", sibling_key(tape.zip_key, "-preview.webp")),
    }
    encoder.render_tape(
        lambda: archive.iter_frames(zip_path, info),
        info.durations_ms,
        info.width,
        info.height,
        mp4_path=outputs["mp4"][0],
        thumbnail_path=outputs["thumbnail"][0],
        preview_path=outputs["preview"][0],
        settings=encoder.EncodeSettings(**_encoder_overrides()),
        progress=_progress_writer(tape.pk, on_progress),
    )
    fields: dict[str, Any] = {}
    for name, (path, key) in outputs.items():
        fields[f"{name}_bytes"] = _store(tape, key, path)
        fields[f"{name}_key"] = key
    return fields


def tape_encode(*, tape_id: int, on_progress: Callable[[float], None] | None = None) -> Tape | None:
    """Turn a tape's ZIP into its MP4, thumbnail and preview, beside the ZIP in storage.

    Idempotent: a ready or nuked tape is left alone, and outputs go to fixed keys, so running it
    twice never duplicates files or rows. Invalid archives fail at once with their code;
    transient failures are recorded on the tape and raised as RetryLater until the tape runs out
    of attempts.
    """
    tape = Tape.objects.filter(pk=tape_id).first()
    if tape is None or tape.nuked or tape.status in (TapeStatus.READY, TapeStatus.FAILED):
        return tape
    _set_status(tape_id, TapeStatus.PROCESSING, progress=0, attempts=F("attempts") + 1)
    tape.refresh_from_db()
    try:
        with tempfile.TemporaryDirectory(prefix="tape-encode-") as workdir:
            fields = _encode_files(tape, Path(workdir), on_progress)
    except TapesiteError as exc:
        return _encode_failed(tape, exc)
    except Exception as exc:  # a bug or a crash in a library: keep the tape, retry, log
        logger.exception("encoding tape %s crashed", tape_id)
        return _encode_failed(
            tape, TapesiteError("encode_crashed", f"Encoding crashed: {exc}", retryable=True)
        )
    _set_status(
        tape_id, TapeStatus.READY, progress=100, failure_code="", failure_message="", **fields
    )
    tape.refresh_from_db()
    return tape


def _encode_failed(tape: Tape, exc: TapesiteError) -> Tape:
    if exc.retryable and tape.attempts < int(settings.TAPES_MAX_ATTEMPTS):
        # Back to queued, with the reason visible, while RQ waits out the back-off.
        _set_status(
            tape.pk, TapeStatus.QUEUED, failure_code=exc.code, failure_message=exc.message[:2000]
        )
        raise RetryLater(f"{exc.code}: {exc.message}") from exc
    _mark_failed(tape.pk, exc.code, exc.message)
    tape.refresh_from_db()
    return tape


def tape_reencode_reset(*, tape: Tape) -> Tape:
    """Make a tape eligible for encoding again (operators' re-encode), keeping its files."""
    _set_status(
        tape.pk, TapeStatus.UPLOADED, progress=0, attempts=0, failure_code="", failure_message=""
    )
    tape.refresh_from_db()
    return tape
