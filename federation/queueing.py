"""The federation app's kind of job on the project's queueing seam (``tapesite.queueing``)."""

from __future__ import annotations

import logging

from tapesite import queueing
from tapesite.queueing import JobKind

logger = logging.getLogger(__name__)

# A nuke or a retry while a run talks to the PDS changes what the run should do: one more run
# follows it (the running one also notices, under its row lock, and schedules its own rerun).
FEDERATE = JobKind(
    name="federate",
    queue="default",
    func="federation.jobs.federate_tape",
    again_while_running=True,
)


def enqueue_federate(tape_id: int, *, delay_seconds: float = 0) -> bool:
    """Queue (or schedule) the federate job; False when Redis is down (reconcile retries)."""
    try:
        queueing.enqueue(FEDERATE, tape_id, delay_seconds=delay_seconds)
    except queueing.QueueUnavailable as exc:
        logger.warning("federation queue unavailable for tape %s: %s", tape_id, exc)
        return False
    return True
