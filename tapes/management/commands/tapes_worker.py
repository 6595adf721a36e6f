from typing import Any

import django_rq
from django.conf import settings
from django.core.management.base import BaseCommand

from tapes.queueing import ENCODE_QUEUE
from tapes.worker import TapesWorker, clean_workdirs, run_reconcile_once


class Command(BaseCommand):
    help = "Run an RQ worker for the tape queues, with the scheduler and the periodic reconcile."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--burst", action="store_true", help="Stop when the queues are empty.")
        parser.add_argument("--name", default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        queues = [django_rq.get_queue(ENCODE_QUEUE), django_rq.get_queue("default")]
        worker = TapesWorker(queues, connection=queues[0].connection, name=options["name"])
        clean_workdirs()  # what a worker killed on this machine left behind
        run_reconcile_once(worker.connection, int(settings.TAPES_RECONCILE_INTERVAL_SECONDS))
        worker.work(with_scheduler=True, burst=options["burst"])
