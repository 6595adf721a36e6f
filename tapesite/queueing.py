"""The one seam between the apps and RQ, for every kind of job.

Each app declares its kinds of job (``tapes.queueing.ENCODE``, ``federation.queueing.FEDERATE``)
and goes through here for the rest: one fixed job id per object, so a second enqueue of a waiting
job is a no-op and reconcile can find the job again; liveness that sees through a job that says
"queued" but sits in no queue (a worker killed between popping it and starting it) and a started
job whose worker stopped beating; and one error, ``QueueUnavailable``, for "Redis is down", so
callers degrade (the reconcile step catches up) instead of failing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import django_rq
import redis
from django.conf import settings
from redis.exceptions import RedisError
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus, Retry
from rq.queue import Queue
from rq.registry import ScheduledJobRegistry, StartedJobRegistry
from rq.utils import as_text
from rq.worker import Worker

JobState = Literal["live", "dead", "missing"]
_WAITING = {JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED}
RESULT_TTL = 3600
FAILURE_TTL = 7 * 86400


class QueueUnavailable(Exception):
    pass


def _no_retry() -> Retry | None:
    return None


def _queue_timeout() -> int | None:
    return None


@dataclass(frozen=True)
class JobKind:
    """One kind of job: ``func`` (a dotted path) run with one object id on ``queue``.

    ``retry`` gives RQ's retry policy at enqueue time (settings may change between tests).
    ``again_while_running``: an enqueue while a run is under way queues one more run after it
    (its input changed under the running job: federation) instead of being a no-op (encode).
    ``timeout``: seconds a run may take before RQ kills it (None: the queue's DEFAULT_TIMEOUT).
    ``old_queues``: queues this kind used to go to, whose waiting jobs still count as its own.
    """

    name: str
    queue: str
    func: str
    retry: Callable[[], Retry | None] = field(default=_no_retry)
    again_while_running: bool = False
    timeout: Callable[[], int | None] = field(default=_queue_timeout)
    old_queues: tuple[str, ...] = ()

    def job_id(self, object_id: int) -> str:
        return f"tape-{self.name}-{object_id}"


# One client (and so one pool of connections) per Redis URL per process: django_rq builds a new
# client, and so opens a new connection, on every get_queue, which cost a post more than its
# enqueue's commands. redis-py's pool is thread-safe and starts afresh in a forked child.
_clients: dict[str, redis.Redis] = {}


def get_queue(name: str) -> Queue:
    """RQ's queue ``name`` on this process's shared connection pool."""
    url = settings.RQ_QUEUES[name].get("URL")
    if not url:
        return django_rq.get_queue(name)
    client = _clients.get(url)
    if client is None:
        client = _clients.setdefault(url, redis.Redis.from_url(url))
    return django_rq.get_queue(name, connection=client)


def _waiting(job: Job) -> bool:
    status = job.get_status(refresh=False)
    if status == JobStatus.QUEUED:
        # A worker killed between popping the id off the queue and marking the job started
        # leaves a job that says "queued" but sits in no queue: nothing will ever run it.
        queue_key = Queue(job.origin, connection=job.connection).key
        return job.connection.lpos(queue_key, job.id) is not None
    return status in _WAITING


def _running(job: Job) -> bool:
    if job.get_status(refresh=False) != JobStatus.STARTED or not job.worker_name:
        return False
    worker = Worker.find_by_key(
        Worker.redis_worker_namespace_prefix + job.worker_name, job.connection
    )
    if worker is None or worker.last_heartbeat is None:
        return False
    # A started job whose worker has sent no heartbeat for this long is taken as dead.
    grace = timedelta(seconds=int(settings.TAPES_WORKER_HEARTBEAT_GRACE_SECONDS))
    return datetime.now(UTC) - worker.last_heartbeat.replace(tzinfo=UTC) < grace


def _fetch(queue: Queue, job_id: str) -> Job | None:
    try:
        return Job.fetch(job_id, connection=queue.connection)
    except NoSuchJobError:
        return None


def job_state(kind: JobKind, object_id: int) -> JobState:
    """``live`` (waiting in its queue, scheduled, or running on a worker with a heartbeat),
    ``dead`` (the job is there but nothing will run it: failed, or its worker stopped beating)
    or ``missing`` (Redis lost it: restarted without its data, flushed, evicted)."""
    try:
        job = _fetch(get_queue(kind.queue), kind.job_id(object_id))
        if job is None:
            return "missing"
        return "live" if _waiting(job) or _running(job) else "dead"
    except RedisError as exc:
        raise QueueUnavailable(str(exc)) from exc


def job_is_live(kind: JobKind, object_id: int) -> bool:
    return job_state(kind, object_id) == "live"


def enqueue(kind: JobKind, object_id: int, *, delay_seconds: float = 0) -> None:
    """Queue the job for ``object_id`` once: a job already waiting makes this a no-op, and so
    does a running one unless the kind asks for a run after it. ``delay_seconds``: a retry on
    RQ's scheduler, under an id of its own (the job that schedules it still runs under the
    object's). Raises QueueUnavailable when Redis is down."""
    job_id = kind.job_id(object_id)
    options: dict[str, Any] = {
        "result_ttl": RESULT_TTL,
        "failure_ttl": FAILURE_TTL,
        "retry": kind.retry(),
    }
    timeout = kind.timeout()
    if timeout is not None:
        options["job_timeout"] = timeout
    try:
        queue = get_queue(kind.queue)
        if delay_seconds > 0:
            at = int(time.time() + delay_seconds)
            queue.enqueue_in(
                timedelta(seconds=delay_seconds),
                kind.func,
                object_id,
                job_id=f"{job_id}-at-{at}",
                **options,
            )
            return
        job = _fetch(queue, job_id)
        if job is not None and _waiting(job):
            return
        if job is not None and _running(job):
            if not kind.again_while_running:
                return
            # The running job keeps its id (RQ would mix two runs in one hash): the next run
            # waits under its own, once.
            job_id = f"{job_id}-next"
            following = _fetch(queue, job_id)
            if following is not None and _waiting(following):
                return
        queue.enqueue(kind.func, object_id, job_id=job_id, **options)
    except RedisError as exc:
        raise QueueUnavailable(str(exc)) from exc


def _object_id(kind: JobKind, job_id: str) -> int | None:
    # tape-federate-7, tape-federate-7-next, tape-federate-7-at-1760000000
    digits = job_id.removeprefix(f"tape-{kind.name}-").split("-", 1)[0]
    if not job_id.startswith(f"tape-{kind.name}-") or not digits.isdigit():
        return None
    return int(digits)


def objects_with_live_jobs(kind: JobKind) -> set[int]:
    """The object ids that have a job of ``kind`` under any of its ids (retries and follow-up
    runs have ids of their own) waiting in its queue or an old one, scheduled, or running on a
    worker that still beats. One pass over the queues, for a reconcile sweep: a job waiting
    behind a long queue is late, not lost. Raises QueueUnavailable when Redis is down."""
    try:
        live: set[int] = set()
        now = time.time()
        for name in (kind.queue, *kind.old_queues):
            queue = get_queue(name)
            connection = queue.connection
            waiting = queue.get_job_ids()
            scheduled = ScheduledJobRegistry(queue=queue).get_job_ids(cleanup=False)
            # A run's entry in the started registry is scored by its heartbeat's expiry: one
            # whose worker died lapses, and only those still in time count.
            started_key = StartedJobRegistry(queue=queue).key
            started = [
                StartedJobRegistry.parse_job_id(as_text(entry))
                for entry in connection.zrangebyscore(started_key, now, "+inf")
                if isinstance(entry, bytes | str)
            ]
            for job_id in (*waiting, *scheduled, *started):
                object_id = _object_id(kind, job_id)
                if object_id is not None:
                    live.add(object_id)
        return live
    except RedisError as exc:
        raise QueueUnavailable(str(exc)) from exc
