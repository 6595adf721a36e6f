from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tapes import services


class Command(BaseCommand):
    help = (
        "Delete the stored files of tapes nuked more than --older-than DAYS ago, and say what was "
        "removed. Rows are kept (marked purged, recorded in the audit log); a purged tape can no "
        "longer be un-nuked."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than", type=int, required=True, metavar="DAYS")
        parser.add_argument(
            "--dry-run", action="store_true", help="say what would be removed, remove nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        days = int(options["older_than"])
        if days < 0:
            raise CommandError("--older-than takes a number of days, 0 or more")
        dry_run = bool(options["dry_run"])
        report = services.tapes_purge(older_than=timedelta(days=days), dry_run=dry_run)
        verb = "would remove" if dry_run else "removed"
        for tape in report.purged:
            self.stdout.write(
                f"!{tape.code} (nuked {tape.nuked_at}): {verb} {len(tape.removed)} files, "
                f"{tape.bytes} bytes"
            )
            for key in tape.removed:
                self.stdout.write(f"  {key}")
            for key in tape.missing:
                self.stdout.write(f"  {key} (already gone)")
        for code, error in report.failed.items():
            self.stderr.write(f"!{code}: not purged, storage error: {error}")
        self.stdout.write(
            f"{'Dry run: ' if dry_run else ''}{len(report.purged)} tapes, {report.files} files, "
            f"{report.bytes} bytes {verb}; {len(report.failed)} failed."
        )
        if report.failed:
            raise CommandError(f"{len(report.failed)} tapes could not be purged")
