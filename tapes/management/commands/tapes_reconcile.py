from typing import Any

from django.core.management.base import BaseCommand, CommandError

from tapes.services import tapes_reconcile


class Command(BaseCommand):
    help = "Enqueue tapes that were posted while the queue was down, and requeue stuck ones."

    def handle(self, *args: Any, **options: Any) -> None:
        report = tapes_reconcile(uploaded_grace_seconds=0)
        self.stdout.write(
            f"enqueued {len(report.enqueued)}, requeued {len(report.requeued)}, "
            f"gave up {len(report.gave_up)}, swept {report.abandoned_uploads} abandoned uploads"
        )
        if report.buckets_cors_mended:
            self.stdout.write(f"CORS applied again to {', '.join(report.buckets_cors_mended)}")
        if report.queue_down:
            raise CommandError("the queue (Redis) is unreachable; nothing more was enqueued")
