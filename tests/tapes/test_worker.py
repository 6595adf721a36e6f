"""The project's RQ worker: its maintenance tick runs reconcile, often enough."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import django_rq
import pytest
from django.utils import timezone

from tapes.models import Tape, TapeStatus
from tapes.queueing import ENCODE
from tapes.worker import TapesWorker, run_reconcile_once, worker_queues
from tests.conftest import tiny_zip
from tests.tapes.factories import TapeUploadFactory, post


@pytest.mark.django_db(transaction=True)
def test_the_worker_maintenance_tick_reconciles(private_redis: Any) -> None:
    slot = TapeUploadFactory.create(content=tiny_zip())
    private_redis.stop()
    tape = post(slot)
    Tape.objects.filter(pk=tape.pk).update(status_changed_at=timezone.now() - timedelta(minutes=1))
    private_redis.start()
    queue = django_rq.get_queue(ENCODE.queue)
    run_reconcile_once(queue.connection, 60)
    assert queue.job_ids == [ENCODE.job_id(tape.pk)]
    tape.refresh_from_db()
    assert tape.status == TapeStatus.QUEUED


def test_an_idle_worker_wakes_up_for_the_reconcile_interval(settings: Any) -> None:
    settings.TAPES_RECONCILE_INTERVAL_SECONDS = 60
    worker = TapesWorker([django_rq.get_queue(ENCODE.queue)])
    assert worker.maintenance_interval == 60
    assert worker.dequeue_timeout <= 60


def test_a_worker_serves_the_queues_it_is_given_or_every_queue(settings: Any) -> None:
    # Without --queues one worker serves everything, so no job is ever stranded.
    assert worker_queues() == ["encode", "federate", "bluesky", "default"]
    assert worker_queues(["encode"]) == ["encode"]
    assert worker_queues([" federate", "default", "federate"]) == ["federate", "default"]
    settings.TAPES_WORKER_QUEUES = ["federate"]
    assert worker_queues() == ["federate"]
    with pytest.raises(ValueError, match="unknown queue"):
        worker_queues(["encode", "federat"])
    with pytest.raises(ValueError, match="none given"):
        worker_queues([" "])
