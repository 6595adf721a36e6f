"""The project's RQ worker: its maintenance tick runs reconcile, often enough."""

from __future__ import annotations

import gc
import subprocess
import sys
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


def _modules_after(code: str) -> set[str]:
    """Which of the encoder's heavy modules a fresh process has loaded after ``code``."""
    program = (
        "import django, sys; django.setup(); "
        + code
        + "; print(' '.join(m for m in ('av', 'numpy', 'boto3') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=120, check=True
    )
    return set(done.stdout.split())


def test_an_encode_worker_imports_the_encoder_once_before_forking() -> None:
    # Each job runs in a fork of the worker: what the worker imported, no job imports again.
    assert _modules_after("import tapes.worker") == set()
    assert _modules_after("from tapes.worker import preload_for_encoding as p; p()") == {
        "av",
        "numpy",
        "boto3",
    }


def horse_gc_state() -> dict[str, int]:
    """A job: what the garbage collector of the work horse running it has to examine."""
    return {"frozen": gc.get_freeze_count(), "tracked": len(gc.get_objects())}


@pytest.mark.django_db(transaction=True)
def test_a_work_horse_leaves_the_inherited_heap_out_of_its_garbage_collections(
    private_redis: Any,
) -> None:
    # A collection in the horse that examined the objects it inherited would copy every page
    # they sit on (copy-on-write); frozen, they are skipped, and the worker thaws its own.
    queue = django_rq.get_queue("default")
    job = queue.enqueue(horse_gc_state)
    inherited = len(gc.get_objects())
    TapesWorker([queue], connection=queue.connection).work(burst=True)
    result = job.latest_result()
    assert result is not None and result.return_value is not None
    state = result.return_value
    assert state["frozen"] > inherited // 2
    assert state["tracked"] < state["frozen"] // 10
    assert gc.get_freeze_count() == 0
