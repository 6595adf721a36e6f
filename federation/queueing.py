"""The federation app's kind of job on the project's queueing seam (``tapesite.queueing``)."""

from __future__ import annotations

import logging

from django.conf import settings

from tapesite import queueing
from tapesite.queueing import JobKind

logger = logging.getLogger(__name__)


def _federate_timeout() -> int:
    return int(settings.ATPROTO_FEDERATE_JOB_TIMEOUT_SECONDS)


# Its own queue and workers: a run waits on a PDS the user chose, which may be slow, and must
# never hold up encoding. Its timeout bounds a whole run; each PDS call has its own deadline.
# A nuke or a retry while a run talks to the PDS changes what the run should do: one more run
# follows it (the running one also notices, under its row lock, and schedules its own rerun).
FEDERATE = JobKind(
    name="federate",
    queue="federate",
    func="federation.jobs.federate_tape",
    again_while_running=True,
    timeout=_federate_timeout,
    # Federate jobs queued before the split wait on "default" until a worker there drains it.
    old_queues=("default",),
)


def enqueue_federate(tape_id: int, *, delay_seconds: float = 0) -> bool:
    """Queue (or schedule) the federate job; False when Redis is down (reconcile retries)."""
    try:
        queueing.enqueue(FEDERATE, tape_id, delay_seconds=delay_seconds)
    except queueing.QueueUnavailable as exc:
        logger.warning("federation queue unavailable for tape %s: %s", tape_id, exc)
        return False
    return True


def federate_jobs_live() -> set[int]:
    """Tape ids whose federate job is waiting, scheduled or running (reconcile's sweep).
    Raises QueueUnavailable when Redis is down."""
    return queueing.objects_with_live_jobs(FEDERATE)
