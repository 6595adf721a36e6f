"""The queueing seam every kind of job goes through, against the real Redis: one job per object,
and a job that says "queued" but sits in no queue is seen for what it is (every kind)."""

from __future__ import annotations

import time

import django_rq
import pytest
from rq.job import Job

from federation.queueing import FEDERATE
from tapes.queueing import ENCODE
from tapesite import queueing
from tapesite.queueing import JobKind
from tests.support.services import RedisServer

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("kind", [ENCODE, FEDERATE], ids=lambda kind: kind.name)
def test_a_second_enqueue_of_a_waiting_job_is_a_no_op(kind: JobKind) -> None:
    queue = django_rq.get_queue(kind.queue)
    queue.empty()
    assert queueing.job_state(kind, 7) == "missing"
    queueing.enqueue(kind, 7)
    queueing.enqueue(kind, 7)
    assert queue.job_ids == [kind.job_id(7)]
    assert queueing.job_state(kind, 7) == "live"


@pytest.mark.parametrize("kind", [ENCODE, FEDERATE], ids=lambda kind: kind.name)
def test_a_job_queued_in_no_queue_is_dead_and_enqueued_again(kind: JobKind) -> None:
    queue = django_rq.get_queue(kind.queue)
    queue.empty()
    queueing.enqueue(kind, 8)
    # A worker killed between popping the id and starting the job leaves exactly this.
    queue.connection.lrem(queue.key, 0, kind.job_id(8))
    assert Job.fetch(kind.job_id(8), connection=queue.connection).get_status() == "queued"
    assert queueing.job_state(kind, 8) == "dead"
    queueing.enqueue(kind, 8)
    assert queue.job_ids == [kind.job_id(8)]


def test_a_delayed_retry_waits_on_the_scheduler_under_its_own_id() -> None:
    queue = django_rq.get_queue(FEDERATE.queue)
    queue.empty()
    queueing.enqueue(FEDERATE, 9, delay_seconds=60)
    scheduled = queue.scheduled_job_registry.get_job_ids()
    assert len(scheduled) == 1 and scheduled[0].startswith(f"{FEDERATE.job_id(9)}-at-")
    assert queue.job_ids == []


def test_redis_down_is_one_error(private_redis: RedisServer) -> None:
    private_redis.stop()
    with pytest.raises(queueing.QueueUnavailable):
        queueing.enqueue(ENCODE, 10)
    with pytest.raises(queueing.QueueUnavailable):
        queueing.job_state(FEDERATE, 10)


def test_objects_with_live_jobs_sees_every_id_a_kind_uses_and_its_old_queue() -> None:
    queue = django_rq.get_queue(FEDERATE.queue)
    queueing.enqueue(FEDERATE, 11)  # waiting
    queueing.enqueue(FEDERATE, 12, delay_seconds=60)  # scheduled, under -at-
    queue.enqueue(FEDERATE.func, 13, job_id=f"{FEDERATE.job_id(13)}-next")  # a follow-up run
    # Queued by the release before federation had its own queue.
    django_rq.get_queue("default").enqueue(FEDERATE.func, 14, job_id=FEDERATE.job_id(14))
    # Another kind's jobs, and an object whose job is finished, are not live.
    queueing.enqueue(ENCODE, 15)
    queueing.enqueue(FEDERATE, 16)
    queue.connection.lrem(queue.key, 0, FEDERATE.job_id(16))
    # Running: the started registry scores each run by when its heartbeat lapses; a run whose
    # worker died (score in the past) is not live.
    started = queue.started_job_registry.key
    now = time.time()
    queue.connection.zadd(started, {f"{FEDERATE.job_id(17)}-at-1:exec1": now + 60})
    queue.connection.zadd(started, {f"{FEDERATE.job_id(18)}:exec2": now - 60})
    assert queueing.objects_with_live_jobs(FEDERATE) == {11, 12, 13, 14, 17}
    assert queueing.objects_with_live_jobs(ENCODE) == {15}


def test_objects_with_live_jobs_when_redis_is_down(private_redis: RedisServer) -> None:
    private_redis.stop()
    with pytest.raises(queueing.QueueUnavailable):
        queueing.objects_with_live_jobs(FEDERATE)
