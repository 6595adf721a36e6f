from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tapes.services import buckets_setup


class Command(BaseCommand):
    help = (
        "Create the tape buckets on S3 if missing and allow browsers to POST uploads to them "
        "(CORS) from TAPES_SITE_URL, TAPES_STORAGE_CORS_ORIGINS, every registered active site "
        "and the origins given here. Local storage needs nothing. Saving a site in the admin "
        "runs the same in a job."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--cors-origin", action="append", default=[], help="e.g. https://tapes.example"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.TAPES_BUCKET_STORAGES:
            raise CommandError("no tape buckets are configured")
        for bucket, lines in buckets_setup(extra_origins=options["cors_origin"]).items():
            for line in lines:
                self.stdout.write(f"{bucket}: {line}")
