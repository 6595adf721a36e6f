"""The RQ worker the project runs: a plain RQ worker that also runs the reconcile step on its
maintenance tick, so stuck or never-enqueued tapes recover without a separate cron."""

from __future__ import annotations

import gc
import logging
from typing import Any

import django_rq
from django import db
from django.conf import settings
from rq.job import Job
from rq.queue import Queue
from rq.worker import Worker

from tapes.queueing import ENCODE
from tapes.services import tape_workdirs_clean, tapes_reconcile

logger = logging.getLogger(__name__)

_LOCK_KEY = "tapes:reconcile-lock"


class TapesWorker(Worker):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        interval = int(settings.TAPES_RECONCILE_INTERVAL_SECONDS)
        kwargs.setdefault("maintenance_interval", interval)
        # An idle worker blocks on the queue for worker_ttl - 15 s and only runs maintenance
        # between waits; RQ's default (405 s) would make the reconcile interval a fiction.
        kwargs.setdefault("worker_ttl", max(interval + 15, 35))
        super().__init__(*args, **kwargs)

    def fork_work_horse(self, job: Job, queue: Queue) -> None:
        # The horse shares this process's memory until it writes to a page, and the cyclic
        # garbage collector writes to every object it examines: the horse's first full
        # collection copied the whole inherited heap (~12,700 pages, 0.13 s of CPU, a fifth of a
        # short tape's job; bench/burst.py). Frozen objects are never examined. This process
        # thaws them at once, so its own garbage is still collected.
        gc.freeze()
        try:
            super().fork_work_horse(job, queue)
        finally:
            gc.unfreeze()

    def run_maintenance_tasks(self) -> None:
        super().run_maintenance_tasks()
        # Every worker: the folders are on its own machine (the reconcile lock is site-wide).
        clean_workdirs()
        run_reconcile_once(self.connection, int(self.maintenance_interval))


def worker_queues(names: list[str] | None = None) -> list[str]:
    """The queues to work, first first: ``names`` (``tapes_worker --queues``) or
    TAPES_WORKER_QUEUES; each must be one of RQ_QUEUES (a typo would wait on nothing forever)."""
    chosen = [name.strip() for name in (names or settings.TAPES_WORKER_QUEUES) if name.strip()]
    unknown = sorted(set(chosen) - set(settings.RQ_QUEUES))
    if not chosen or unknown:
        raise ValueError(
            f"unknown queue(s) {', '.join(unknown) or '(none given)'}; "
            f"the queues are {', '.join(settings.RQ_QUEUES)}"
        )
    return list(dict.fromkeys(chosen))


def run_worker(
    *, name: str | None = None, burst: bool = False, queues: list[str] | None = None
) -> None:
    """Work ``queues`` (default TAPES_WORKER_QUEUES) in their order, with RQ's scheduler (it
    moves the scheduled jobs of the queues this worker works)."""
    names = worker_queues(queues)
    if ENCODE.queue in names:
        preload_for_encoding()
    rq_queues = [django_rq.get_queue(queue) for queue in names]
    worker = TapesWorker(rq_queues, connection=rq_queues[0].connection, name=name)
    clean_workdirs()  # what a worker killed on this machine left behind
    run_reconcile_once(worker.connection, int(settings.TAPES_RECONCILE_INTERVAL_SECONDS))
    worker.work(with_scheduler=True, burst=burst)


def preload_for_encoding() -> None:
    """Import what every encode job needs before any job runs. RQ runs each job in a fresh fork
    of this process, so a module imported here is imported once per worker, not once per job:
    numpy, PyAV, Pillow and boto3 cost a job about 0.4 s of CPU to import, as much as encoding a
    short tape (bench/burst.py). Likewise the S3 model boto3 parses for every new connection
    (``tapesite.s3``): parsed here once, each job's connection finds it parsed."""
    import encodings.cp437  # noqa: F401 - zipfile's codec for names not flagged UTF-8

    from PIL import Image

    from tapes import archive, encoder  # noqa: F401
    from tapesite import s3

    # Pillow imports its ~40 format plugins on the first save of a WebP or GIF (0.2 s a job).
    Image.init()
    s3.warm_up()


def clean_workdirs() -> None:
    try:
        tape_workdirs_clean()
    except Exception:
        logger.exception("cleaning encode working folders failed; the next tick tries again")


def run_reconcile_once(connection: Any, interval: int) -> None:
    # With many workers only one should sweep per interval; the lock expires on its own.
    if not connection.set(_LOCK_KEY, "1", nx=True, ex=max(interval - 1, 1)):
        return
    try:
        report = tapes_reconcile()
        if report.moved:
            logger.info("reconcile: %s", report)
    except Exception:
        logger.exception("reconcile failed; the next tick tries again")
    finally:
        # The work horse is forked from this process: it must not inherit an open DB socket.
        db.connections.close_all()
