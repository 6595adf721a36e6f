"""The one way a tape changes status, shared by posting, reconcile and encoding."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from ops.transitions import current_job_id, log_transition
from tapes.models import Tape, TapeStatus


def owner_id(user: User | None) -> int | None:
    """The owner a tape or upload gets: the signed-in user's id, or None for a guest."""
    return user.pk if user is not None and user.is_authenticated else None


class TapeState(NamedTuple):
    """What a caller that just wrote the row knows it holds: lets a status change skip the lock."""

    code: str
    status: str
    since: datetime


def tape_status_set(
    *,
    tape_id: int,
    status: TapeStatus,
    only_from: TapeStatus | None = None,
    known: TapeState | None = None,
    **fields: Any,
) -> int:
    """Move a tape to ``status`` (optionally only from ``only_from``) with any other fields, in
    one UPDATE: status changes race with the worker, so they never go through a stale ``save()``.

    Each change writes one JSON log line (``tapes.transitions``: code, from, to, time spent in
    the old status, RQ job id) once it commits. The row is locked for the read-then-update, so
    the "from" of the line is the status the update really replaced.

    With ``known`` (the row as the caller last wrote it) the change is one conditional UPDATE
    instead (compare and set: it applies only if nobody changed the row since); when it finds
    the row moved on, the locking path decides as usual."""
    if known is not None and (only_from is None or known.status == only_from):
        now = timezone.now()
        updated = Tape.objects.filter(
            pk=tape_id, status=known.status, status_changed_at=known.since
        ).update(status=status, status_changed_at=now, updated_at=now, **fields)
        if updated:
            _log_after_commit(tape_id, known.code, known.status, status, known.since, now, fields)
            return updated
    with transaction.atomic():
        before = (
            Tape.objects.select_for_update()
            .filter(pk=tape_id)
            .values_list("code", "status", "status_changed_at")
            .first()
        )
        if before is None or (only_from is not None and before[1] != only_from):
            return 0
        code, old_status, since = before
        now = timezone.now()
        updated = Tape.objects.filter(pk=tape_id).update(
            status=status, status_changed_at=now, updated_at=now, **fields
        )
        _log_after_commit(tape_id, code, old_status, status, since, now, fields)
    return updated


def _log_after_commit(
    tape_id: int,
    code: str,
    old_status: str,
    status: str,
    since: datetime | None,
    now: datetime,
    fields: dict[str, Any],
) -> None:
    failure_code = str(fields.get("failure_code") or "")
    job_id = current_job_id()
    transaction.on_commit(
        lambda: log_transition(
            tape_id=tape_id,
            code=code,
            from_status=old_status,
            to_status=str(status),
            since=since,
            at=now,
            failure_code=failure_code,
            job_id=job_id,
        )
    )


def tape_mark_failed(*, tape_id: int, code: str, message: str, detail: str = "") -> None:
    tape_status_set(
        tape_id=tape_id,
        status=TapeStatus.FAILED,
        failure_code=code,
        failure_message=message[:2000],
        failure_detail=detail[:10000],
    )


def tape_log_change(*, tape: Tape, from_state: str, to_state: str, since: datetime | None) -> None:
    """The JSON log line of a change outside the status pipeline (posted, nuked, restored,
    purged), with the same fields as a status change, written once the transaction commits."""
    _log_after_commit(tape.pk, tape.code, from_state, to_state, since, timezone.now(), {})
