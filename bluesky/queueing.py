"""The bluesky app's kind of job on the project's queueing seam (``tapesite.queueing``)."""

from __future__ import annotations

import logging

from django.conf import settings

from tapesite import queueing
from tapesite.queueing import JobKind

logger = logging.getLogger(__name__)


def _timeout() -> int:
    return int(settings.ATPROTO_FEDERATE_JOB_TIMEOUT_SECONDS)


# Its own queue: a run waits on the owner's PDS and on Bluesky's video service (which may take
# minutes to process a video), and must hold up neither encoding nor federation. A post taken
# back while a run writes it changes what the run should do: one more run follows.
POST = JobKind(
    name="bluesky",
    queue="bluesky",
    func="bluesky.jobs.post_tape",
    again_while_running=True,
    timeout=_timeout,
)


def enqueue_post(tape_id: int, *, delay_seconds: float = 0) -> bool:
    """Queue (or schedule) the posting job; False when Redis is down (reconcile retries)."""
    try:
        queueing.enqueue(POST, tape_id, delay_seconds=delay_seconds)
    except queueing.QueueUnavailable as exc:
        logger.warning("bluesky queue unavailable for tape %s: %s", tape_id, exc)
        return False
    return True


def post_jobs_live() -> set[int]:
    """Tape ids whose posting job is waiting, scheduled or running (reconcile's sweep).
    Raises QueueUnavailable when Redis is down."""
    return queueing.objects_with_live_jobs(POST)
