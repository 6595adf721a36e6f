from typing import Any

from django.core.management.base import BaseCommand, CommandError

from tapes.worker import run_worker, worker_queues


class Command(BaseCommand):
    help = "Run an RQ worker for the tape queues, with the scheduler and the periodic reconcile."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--burst", action="store_true", help="Stop when the queues are empty.")
        parser.add_argument("--name", default=None)
        parser.add_argument(
            "--queues",
            default="",
            help="Comma-separated queues to work, first first (default: TAPES_WORKER_QUEUES), "
            "e.g. 'encode' for an encode worker, 'federate,default' for a federation worker.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        names = [name for name in options["queues"].split(",") if name.strip()] or None
        try:
            queues = worker_queues(names)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        run_worker(name=options["name"], burst=options["burst"], queues=queues)
