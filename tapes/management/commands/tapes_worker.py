from typing import Any

from django.core.management.base import BaseCommand

from tapes.worker import run_worker


class Command(BaseCommand):
    help = "Run an RQ worker for the tape queues, with the scheduler and the periodic reconcile."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--burst", action="store_true", help="Stop when the queues are empty.")
        parser.add_argument("--name", default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        run_worker(name=options["name"], burst=options["burst"])
