from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from federation.models import FederationState
from federation.selectors import (
    tape_at_record,
    tape_federation_summary,
    tapes_federation_failed,
)
from federation.services import tape_federate_now
from tapes.selectors import tapes_by_codes


def _bar(done: float, width: int = 30) -> str:
    filled = int(done * width)
    return "[" + "#" * filled + "." * (width - filled) + f"] {done * 100:5.1f}%"


class Command(BaseCommand):
    help = "Federate tapes to their owners' PDS now, by code or every failed one, with progress."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("codes", nargs="*", help="Tape codes (without the !)")
        parser.add_argument("--failed", action="store_true", help="Every failed federation.")

    def handle(self, *args: Any, **options: Any) -> None:
        codes: list[str] = [code.lstrip("!") for code in options["codes"]]
        if not codes and not options["failed"]:
            raise CommandError("name tape codes or pass --failed")
        if options["failed"]:
            selected = list(tapes_federation_failed())
        else:
            selected = list(tapes_by_codes(codes=codes))
            missing = sorted(set(codes) - {tape.code for tape in selected})
            if missing:
                raise CommandError(f"no such tape: {', '.join(missing)}")
        failures = 0
        total = len(selected)
        for index, tape in enumerate(selected, start=1):
            label = f"{index}/{total} !{tape.code} {_bar(index / total)}"
            outcome = tape_federate_now(tape=tape)
            if outcome.state == "skipped":
                self.stdout.write(f"{label} skipped: not ready, or the owner has no linked account")
                failures += 1
                continue
            tape = tapes_by_codes(codes=[tape.code]).select_related("federation").get()
            if outcome.state == FederationState.DONE:
                already = " (already federated)" if outcome.code == "already_federated" else ""
                uri = (tape_at_record(tape) or {}).get("uri", "")
                self.stdout.write(f"{label} done{already} {uri}")
                continue
            failures += 1
            summary = tape_federation_summary(tape)
            retry = f"; retried in {outcome.retry_in:.0f} s" if outcome.retry_in else ""
            self.stdout.write(
                f"{label} {summary['state']}: {summary['code']} {summary['message'] or ''}{retry}"
            )
        if failures:
            raise CommandError(f"{failures} of {total} tape(s) did not federate")
