"""The seam between tapes and RQ: deterministic job ids, liveness, and a single error for
"the queue is down" so callers can degrade instead of failing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import django_rq
from django.conf import settings
from redis.exceptions import RedisError
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus, Retry
from rq.queue import Queue
from rq.worker import Worker

ENCODE_QUEUE = "encode"
ENCODE_JOB = "tapes.jobs.encode_tape"
_LIVE = {JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED}


class QueueUnavailable(Exception):
    pass


def encode_job_id(tape_id: int) -> str:
    # One id per tape makes a second enqueue of a live job a no-op and lets reconcile find it.
    return f"tape-encode-{tape_id}"


def _job_is_live(job: Job) -> bool:
    status = job.get_status(refresh=False)
    if status == JobStatus.QUEUED:
        # A worker killed between popping the id off the queue and marking the job started
        # leaves a job that says "queued" but sits in no queue: nothing will ever run it.
        queue_key = Queue(job.origin, connection=job.connection).key
        return job.connection.lpos(queue_key, job.id) is not None
    if status in _LIVE:
        return True
    if status != JobStatus.STARTED:
        return False
    worker_name = job.worker_name
    if not worker_name:
        return False
    worker = Worker.find_by_key(Worker.redis_worker_namespace_prefix + worker_name, job.connection)
    if worker is None or worker.last_heartbeat is None:
        return False
    # A started job whose worker has sent no heartbeat for this long is taken as dead.
    grace = timedelta(seconds=int(settings.TAPES_WORKER_HEARTBEAT_GRACE_SECONDS))
    return datetime.now(UTC) - worker.last_heartbeat.replace(tzinfo=UTC) < grace


def encode_job_state(tape_id: int) -> str:
    """``live`` (queued, scheduled, or running on a worker with a heartbeat), ``dead`` (the job is
    there but nothing will run it: failed, or its worker stopped beating) or ``missing`` (Redis
    lost it: restarted without its data, flushed, evicted)."""
    try:
        queue = django_rq.get_queue(ENCODE_QUEUE)
        job = Job.fetch(encode_job_id(tape_id), connection=queue.connection)
        return "live" if _job_is_live(job) else "dead"
    except RedisError as exc:
        raise QueueUnavailable(str(exc)) from exc
    except NoSuchJobError:
        return "missing"


def encode_job_is_live(tape_id: int) -> bool:
    try:
        queue = django_rq.get_queue(ENCODE_QUEUE)
        job = Job.fetch(encode_job_id(tape_id), connection=queue.connection)
    except RedisError as exc:
        raise QueueUnavailable(str(exc)) from exc
    except NoSuchJobError:
        return False
    return _job_is_live(job)


def enqueue_encode(tape_id: int) -> None:
    try:
        if encode_job_is_live(tape_id):
            return
        queue = django_rq.get_queue(ENCODE_QUEUE)
        attempts = int(settings.TAPES_MAX_ATTEMPTS)
        kwargs = {
            "job_id": encode_job_id(tape_id),
            "result_ttl": 3600,
            "failure_ttl": 7 * 86400,
            # The job raises on transient failures so RQ retries it with back-off; the tape's own
            # attempt counter decides when to stop for good.
            "retry": Retry(max=attempts - 1, interval=settings.TAPES_RETRY_INTERVALS)
            if attempts > 1
            else None,
        }
        queue.enqueue(ENCODE_JOB, tape_id, **kwargs)
    except RedisError as exc:
        raise QueueUnavailable(str(exc)) from exc
