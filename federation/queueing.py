"""The seam between federation and RQ: one job per tape, delayed retries on the scheduler."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

import django_rq
from redis.exceptions import RedisError
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

logger = logging.getLogger(__name__)

QUEUE = "default"
FEDERATE_JOB = "federation.jobs.federate_tape"
_WAITING = {JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED}


def federate_job_id(tape_id: int) -> str:
    return f"tape-federate-{tape_id}"


def enqueue_federate(tape_id: int, *, delay_seconds: float = 0) -> bool:
    """Queue (or schedule) the federate job; False when Redis is down (reconcile retries).

    A job already waiting for this tape makes this a no-op. A delayed retry gets an id of its
    own: the job that schedules it is still running under the tape's id.
    """
    try:
        queue = django_rq.get_queue(QUEUE)
        if delay_seconds > 0:
            queue.enqueue_in(
                timedelta(seconds=delay_seconds),
                FEDERATE_JOB,
                tape_id,
                job_id=f"{federate_job_id(tape_id)}-at-{int(time.time() + delay_seconds)}",
                result_ttl=3600,
                failure_ttl=7 * 86400,
            )
            return True
        try:
            job = Job.fetch(federate_job_id(tape_id), connection=queue.connection)
            if job.get_status(refresh=False) in _WAITING:
                return True
        except NoSuchJobError:
            pass
        queue.enqueue(
            FEDERATE_JOB,
            tape_id,
            job_id=federate_job_id(tape_id),
            result_ttl=3600,
            failure_ttl=7 * 86400,
        )
        return True
    except RedisError as exc:
        logger.warning("federation queue unavailable for tape %s: %s", tape_id, exc)
        return False
