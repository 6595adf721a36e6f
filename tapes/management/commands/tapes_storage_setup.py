from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tapes.storage import bucket_setup


class Command(BaseCommand):
    help = (
        "Create the tape buckets on S3 if missing and allow browsers on the given origins to POST "
        "uploads to them (CORS). Local storage needs nothing."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--cors-origin", action="append", default=[], help="e.g. https://tapes.example"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.TAPES_BUCKET_STORAGES:
            raise CommandError("no tape buckets are configured")
        for bucket in settings.TAPES_BUCKET_STORAGES:
            for line in bucket_setup(bucket=bucket, cors_origins=options["cors_origin"]):
                self.stdout.write(f"{bucket}: {line}")
