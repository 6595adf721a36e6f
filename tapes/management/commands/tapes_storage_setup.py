from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tapes.storage import is_s3, storage_for


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
        origins: list[str] = options["cors_origin"]
        for bucket in settings.TAPES_BUCKET_STORAGES:
            storage = storage_for(bucket)
            if not is_s3(storage):
                self.stdout.write(f"{bucket}: local storage, nothing to do")
                continue
            client = storage.connection.meta.client  # type: ignore[attr-defined]
            existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
            if bucket not in existing:
                client.create_bucket(Bucket=bucket)
                self.stdout.write(f"{bucket}: created")
            if origins:
                client.put_bucket_cors(
                    Bucket=bucket,
                    CORSConfiguration={
                        "CORSRules": [
                            {
                                "AllowedOrigins": origins,
                                "AllowedMethods": ["POST", "GET", "HEAD"],
                                "AllowedHeaders": ["*"],
                                "MaxAgeSeconds": 3600,
                            }
                        ]
                    },
                )
                self.stdout.write(f"{bucket}: CORS for {', '.join(origins)}")
        if not settings.TAPES_BUCKET_STORAGES:
            raise CommandError("no tape buckets are configured")
