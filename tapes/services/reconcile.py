"""Reconcile: put every tape that should be moving back on the queue, sweep abandoned upload
slots, then run the reconcilers other apps registered (federation's finds records that never
started or got stuck). Run by the worker's maintenance tick and by ``manage.py tapes_reconcile``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from tapes.models import Tape, TapeStatus
from tapes.queueing import ENCODE, RELOCATE
from tapes.services.buckets import buckets_cors_reconcile
from tapes.services.encoding import tape_enqueue_encode
from tapes.services.relocate import (
    tape_relocation_enqueue,
    tape_relocation_originals_delete,
    tapes_relocation_pending,
)
from tapes.services.status import tape_mark_failed, tape_status_set
from tapes.services.uploads import tape_uploads_sweep
from tapesite import queueing

logger = logging.getLogger(__name__)

# A reconciler catches up on what an app's reactions to tape events missed (a lost job, a reaction
# that failed after commit) and says what it moved: {"started": [tape ids], ...}.
Reconciler = Callable[[], dict[str, list[int]]]
_reconcilers: dict[str, Reconciler] = {}


def reconciler_register(name: str, reconciler: Reconciler) -> None:
    """Run ``reconciler`` on every reconcile, after the tapes' own; apps register theirs in
    ``AppConfig.ready()``. Registering a name again replaces it."""
    _reconcilers[name] = reconciler


@dataclass
class ReconcileReport:
    enqueued: list[int]
    requeued: list[int]
    gave_up: list[int]
    abandoned_uploads: int = 0
    # Claimed tapes whose move was lost or waited for the encode, queued again; and moves whose
    # originals were deleted now that links to them have expired.
    relocations_queued: list[int] = field(default_factory=list)
    originals_deleted: list[int] = field(default_factory=list)
    queue_down: bool = False
    # Buckets whose CORS no longer matched the registered sites, applied again.
    buckets_cors_mended: list[str] = field(default_factory=list)
    # What each registered reconciler moved, by its name: {"federation": {"started": [...]}}.
    others: dict[str, dict[str, list[int]]] = field(default_factory=dict)

    @property
    def moved(self) -> bool:
        mine = self.enqueued or self.requeued or self.gave_up or self.relocations_queued
        return bool(
            mine
            or self.buckets_cors_mended
            or any(any(ids.values()) for ids in self.others.values())
        )


def tapes_reconcile(*, uploaded_grace_seconds: int = 5) -> ReconcileReport:
    """Put every tape that should be moving back on the queue.

    - ``uploaded`` tapes were posted while the queue was down (or the enqueue was lost): enqueue.
    - ``queued``/``processing`` tapes whose job no longer exists (Redis lost its data): requeue
      at once; whose job is there but dead (a killed worker) and that showed no sign of life past
      TAPES_STUCK_AFTER_SECONDS: requeue. Either way, fail them once out of attempts.
    - buckets whose CORS is not what the registered sites need: applied again.
    - claimed guest tapes whose files are still in the guest bucket and whose move is not
      queued: queue it; moved tapes whose originals' links have expired: delete the originals.
    Safe to run from many places at once: the enqueue is idempotent per tape.
    """
    now = timezone.now()
    report = ReconcileReport(enqueued=[], requeued=[], gave_up=[])
    report.abandoned_uploads = tape_uploads_sweep(now=now)
    report.originals_deleted = tape_relocation_originals_delete(now=now)
    try:
        report.buckets_cors_mended = buckets_cors_reconcile()
    except Exception:  # storage unreachable: the tapes below must still move; the next tick retries
        logger.exception("could not check the buckets' CORS")
    for tape_id in tapes_relocation_pending().values_list("id", flat=True)[:100]:
        try:
            if queueing.job_state(RELOCATE, tape_id) == "live":
                continue
        except queueing.QueueUnavailable:
            report.queue_down = True
            return report
        if tape_relocation_enqueue(tape_id=tape_id):
            report.relocations_queued.append(tape_id)
    waiting = Tape.objects.visible().filter(
        status=TapeStatus.UPLOADED,
        status_changed_at__lte=now - timedelta(seconds=uploaded_grace_seconds),
    )
    for tape_id in waiting.values_list("id", flat=True):
        if not tape_enqueue_encode(tape_id=tape_id):
            report.queue_down = True
            return report
        report.enqueued.append(tape_id)
    moving = Tape.objects.visible().filter(status__in=[TapeStatus.QUEUED, TapeStatus.PROCESSING])
    quiet_since = now - timedelta(seconds=int(settings.TAPES_STUCK_AFTER_SECONDS))
    for tape_id, attempts, updated_at in moving.values_list("id", "attempts", "updated_at"):
        try:
            state = queueing.job_state(ENCODE, tape_id)
        except queueing.QueueUnavailable:
            report.queue_down = True
            return report
        if state == "live" or (state == "dead" and updated_at > quiet_since):
            continue
        if attempts >= int(settings.TAPES_MAX_ATTEMPTS):
            tape_mark_failed(
                tape_id=tape_id,
                code="encode_gave_up",
                message=f"Encoding stopped without finishing {attempts} times; giving up.",
            )
            report.gave_up.append(tape_id)
            continue
        tape_status_set(tape_id=tape_id, status=TapeStatus.UPLOADED)
        if not tape_enqueue_encode(tape_id=tape_id):
            report.queue_down = True
            return report
        report.requeued.append(tape_id)
    for name, reconciler in _reconcilers.items():
        try:
            report.others[name] = reconciler()
        except Exception:  # one app's failure must not stop the others; the next tick retries
            logger.exception("the %s reconciler failed", name)
    return report
