"""Encoding: handing a tape to the queue and the encode job's work (re-encoding: ``reencode``)."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.files import File
from django.db.models import F
from django.utils import timezone

from ops import metrics
from tapes import events
from tapes.files import OUTPUT_FILES
from tapes.models import Tape, TapeStatus
from tapes.queueing import ENCODE
from tapes.services.relocate import Relocated, tape_relocate, tape_relocation_enqueue
from tapes.services.status import TapeState, tape_mark_failed, tape_status_set
from tapes.services.uploads import tape_zip_take
from tapes.storage import sibling_key, storage_for
from tapes.timing import frame_timing
from tapesite import queueing
from tapesite.errors import TapesiteError

if TYPE_CHECKING:
    from tapes.encoder import EncodeResult

logger = logging.getLogger(__name__)


def tape_enqueue_encode(*, tape_id: int, known: TapeState | None = None) -> bool:
    """Hand the tape to the encode queue. Never raises for a queue outage: the tape stays
    ``uploaded`` and the reconcile step enqueues it later. ``known``: the row as the caller just
    wrote it, which saves the status change its lock."""
    try:
        queueing.enqueue(ENCODE, tape_id)
    except queueing.QueueUnavailable as exc:
        logger.warning(
            "encode queue unavailable for tape %s, reconcile will retry: %s", tape_id, exc
        )
        return False
    # Only move forward: a fast worker may already have marked it processing.
    tape_status_set(
        tape_id=tape_id, status=TapeStatus.QUEUED, only_from=TapeStatus.UPLOADED, known=known
    )
    return True


WORKDIR_PREFIX = "tape-encode-"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def tape_workdirs_clean(*, older_than_seconds: int = 6 * 3600) -> int:
    """Delete the working folders (tens of MB per tape) that killed encode jobs left in this
    machine's temporary folder: those whose process is gone, and any older than
    ``older_than_seconds`` (a reused pid). Run at worker start and on every maintenance tick."""
    root = tempfile.gettempdir()
    removed = 0
    now = time.time()
    try:
        entries = list(os.scandir(root))
    except OSError:
        return 0
    for entry in entries:
        if not entry.name.startswith(WORKDIR_PREFIX) or not entry.is_dir(follow_symlinks=False):
            continue
        pid_text = entry.name[len(WORKDIR_PREFIX) :].split("-", 1)[0]
        try:
            age = now - entry.stat(follow_symlinks=False).st_mtime
        except OSError:
            continue
        orphaned = pid_text.isdigit() and not _pid_alive(int(pid_text))
        if orphaned or age > older_than_seconds:
            shutil.rmtree(entry.path, ignore_errors=True)
            removed += 1
    if removed:
        logger.info("removed %s working folders left by killed encode jobs", removed)
    return removed


class RetryLater(Exception):
    """Raised by the encode job after recording a transient failure, so RQ retries it."""


#: The least time between two progress writes of one encode. A tape page polls once a second,
#: so it still sees the bar move; a short tape, encoded in well under a second, is not charged
#: an UPDATE for every 5 % of it (18 a tape, each ~1 ms of the worker's CPU and a dead row
#: version for PostgreSQL to clean up, in a busy hour thousands a minute).
PROGRESS_EVERY_SECONDS = 0.5


def _progress_writer(tape_id: int, also: Callable[[float], None] | None) -> Callable[[float], None]:
    last_percent = -1
    last_at = time.monotonic()

    def report(fraction: float) -> None:
        nonlocal last_percent, last_at
        fraction = max(0.0, min(1.0, fraction))
        if also is not None:
            also(fraction)
        # 5..95: downloading and storing take the ends of the bar.
        percent = 5 + int(fraction * 90)
        now = time.monotonic()
        if percent - last_percent >= 5 and now - last_at >= PROGRESS_EVERY_SECONDS:
            last_percent, last_at = percent, now
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
            "storage_unavailable",
            "Storage could not be reached to read the tape; it will be tried again.",
            retryable=True,
            details={"detail": f"reading {tape.zip_key}: {exc!r}"},
        ) from exc


def _store(tape: Tape, key: str, path: Path) -> int:
    storage = storage_for(tape.bucket)
    try:
        with path.open("rb") as handle:
            stored = storage.save(key, File(handle, name=key))
    except Exception as exc:
        raise TapesiteError(
            "storage_unavailable",
            "Storage could not be reached to save the video; it will be tried again.",
            retryable=True,
            details={"detail": f"storing {key}: {exc!r}"},
        ) from exc
    if stored != key:  # a backend that renames instead of overwriting would duplicate files
        raise TapesiteError(
            "storage_renamed",
            "Storage could not save the video under its name.",
            status=500,
            details={"detail": f"storage saved {key} as {stored}"},
        )
    return path.stat().st_size


def _encode_files(
    tape: Tape, workdir: Path, on_progress: Callable[[float], None] | None
) -> dict[str, Any]:
    # PyAV and numpy are heavy and only the worker needs them: web processes never load them.
    from tapes import archive, encoder

    zip_path = workdir / "tape.zip"
    _download(tape, zip_path)
    try:
        info = archive.inspect_archive(
            zip_path, archive.ArchiveLimits.from_settings(settings.TAPES_ARCHIVE_LIMITS)
        )
        Tape.objects.filter(pk=tape.pk).update(
            frames=info.frames,
            duration_ms=round(info.total_duration_ms),
            frame_ms=list(frame_timing(info.durations_ms).durations),
            width=info.width,
            height=info.height,
            scale=info.scale,
            discrepancies=list(info.discrepancies),
            progress=5,
            updated_at=timezone.now(),
        )
        outputs = {
            file: (workdir / f"out{file.suffix}", sibling_key(tape.zip_key, file.suffix))
            for file in OUTPUT_FILES
        }
        paths = {file.name: path for file, (path, _) in outputs.items()}
        kept, held_ms = archive.distinct_frames(zip_path, info)
        encoder.render_tape(
            lambda: archive.iter_frames(zip_path, info, only=kept),
            held_ms,
            info.width,
            info.height,
            mp4_path=paths["mp4"],
            thumbnail_path=paths["thumbnail"],
            preview_path=paths["preview"],
            gif_path=paths["gif"],
            settings=encoder.EncodeSettings(**settings.TAPES_ENCODER),
            progress=_progress_writer(tape.pk, on_progress),
        )
    except archive.ArchiveError as exc:  # the pure reader's error, as the site's: a bad upload
        raise TapesiteError(exc.code, exc.message, details=exc.details) from exc
    except encoder.EncodeError as exc:  # the pure encoder's error, as the site's
        raise TapesiteError(
            exc.code, exc.message, details=exc.details, status=422, retryable=exc.retryable
        ) from exc
    fields: dict[str, Any] = {}
    for file, (path, key) in outputs.items():
        fields[file.bytes_field] = _store(tape, key, path)
        fields[file.key_field] = key
    return fields


def tape_video_copy(*, tape: Tape, path: Path, max_long_side: int, max_bytes: int) -> EncodeResult:
    """Write another MP4 of ``tape`` to ``path``, made from its ZIP's frames like the published
    one (the same encoder and quality ladder, nearest-neighbour upscale by an even factor) but
    with the long side up to ``max_long_side`` and at most ``max_bytes``: the copy another
    service wants (Bluesky's video service transcodes what it gets, so it gets the drawing
    already big). Returns the encoder's ``EncodeResult``; the tape's row and stored files are
    left alone. Raises TapesiteError (storage, a ZIP that no longer reads, too large)."""
    from tapes import archive, encoder

    options = {**settings.TAPES_ENCODER, "max_long_side": max_long_side, "max_bytes": max_bytes}
    with tempfile.TemporaryDirectory(prefix=f"{WORKDIR_PREFIX}{os.getpid()}-") as workdir:
        zip_path = Path(workdir) / "tape.zip"
        _download(tape, zip_path)
        try:
            info = archive.inspect_archive(
                zip_path, archive.ArchiveLimits.from_settings(settings.TAPES_ARCHIVE_LIMITS)
            )
            kept, held_ms = archive.distinct_frames(zip_path, info)
            return encoder.render_tape(
                lambda: archive.iter_frames(zip_path, info, only=kept),
                held_ms,
                info.width,
                info.height,
                mp4_path=path,
                settings=encoder.EncodeSettings(**options),
            )
        except archive.ArchiveError as exc:
            raise TapesiteError(exc.code, exc.message, details=exc.details) from exc
        except encoder.EncodeError as exc:
            raise TapesiteError(
                exc.code, exc.message, details=exc.details, status=422, retryable=exc.retryable
            ) from exc


def tape_encode(*, tape_id: int, on_progress: Callable[[float], None] | None = None) -> Tape | None:
    """Turn a tape's ZIP into its MP4, thumbnail, preview and GIF, beside the ZIP in storage.

    Idempotent: a ready or nuked tape is left alone, and outputs go to fixed keys, so running it
    twice never duplicates files or rows. Invalid archives fail at once with their code;
    transient failures are recorded on the tape and raised as RetryLater until the tape runs out
    of attempts.
    """
    tape = Tape.objects.filter(pk=tape_id).first()
    if tape is None or tape.nuked or tape.status in (TapeStatus.READY, TapeStatus.FAILED):
        return tape
    tape_status_set(
        tape_id=tape_id, status=TapeStatus.PROCESSING, progress=0, attempts=F("attempts") + 1
    )
    tape.refresh_from_db()
    started = time.monotonic()
    try:
        # The pid in the name lets tape_workdirs_clean tell a killed worker's leftovers from a
        # running one's.
        # A tape just posted still has its ZIP in the upload key: posting left the copy to us.
        tape = tape_zip_take(tape=tape)
        with tempfile.TemporaryDirectory(prefix=f"{WORKDIR_PREFIX}{os.getpid()}-") as workdir:
            fields = _encode_files(tape, Path(workdir), on_progress)
    except TapesiteError as exc:
        return _encode_failed(tape, exc, started=started)
    except Exception as exc:  # a bug or a crash in a library: keep the tape, retry, log
        logger.exception("encoding tape %s crashed", tape_id)
        return _encode_failed(
            tape,
            TapesiteError(
                "encode_crashed",
                "Encoding stopped on an error of ours; it will be tried again.",
                retryable=True,
                details={"detail": f"{type(exc).__name__}: {exc}"},
            ),
            started=started,
        )
    tape_status_set(
        tape_id=tape_id,
        status=TapeStatus.READY,
        progress=100,
        failure_code="",
        failure_message="",
        failure_detail="",
        **fields,
    )
    metrics.observe_encode(seconds=time.monotonic() - started, outcome="ready")
    _relocate_if_claimed(tape)
    tape.refresh_from_db()
    events.send_after_commit(events.tape_ready, tape=tape)
    return tape


def _relocate_if_claimed(tape: Tape) -> None:
    # A guest tape claimed while it was encoding waited for its files to be complete; now they
    # are, they follow their owner. The row is read afresh under its lock (the claim may have
    # landed during the encode); a storage failure goes on as a queued move with retries.
    if tape_relocate(tape_id=tape.pk) is Relocated.RETRY:
        tape_relocation_enqueue(tape_id=tape.pk)


def _encode_failed(tape: Tape, exc: TapesiteError, *, started: float) -> Tape:
    detail = str(exc.details.get("detail", "")) if exc.details else ""
    if detail:
        logger.warning("encoding tape %s: %s (%s)", tape.pk, exc.code, detail)
    retry = exc.retryable and tape.attempts < int(settings.TAPES_MAX_ATTEMPTS)
    metrics.observe_encode(
        seconds=time.monotonic() - started, outcome="retry" if retry else "failed", code=exc.code
    )
    if retry:
        # Back to queued, with the reason visible, while RQ waits out the back-off.
        tape_status_set(
            tape_id=tape.pk,
            status=TapeStatus.QUEUED,
            failure_code=exc.code,
            failure_message=exc.message[:2000],
            failure_detail=detail[:10000],
        )
        raise RetryLater(f"{exc.code}: {exc.message}") from exc
    tape_mark_failed(tape_id=tape.pk, code=exc.code, message=exc.message, detail=detail)
    _relocate_if_claimed(tape)
    tape.refresh_from_db()
    return tape
