from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from tapes import selectors, services
from tapes.models import Tape, TapeStatus
from tapesite.errors import TapesiteError


def _bar(done: float, width: int = 30) -> str:
    filled = int(done * width)
    return "[" + "#" * filled + "." * (width - filled) + f"] {done * 100:5.1f}%"


class Command(BaseCommand):
    help = "Re-encode tapes by code, or every failed tape, showing progress."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("codes", nargs="*", help="Tape codes (without the !)")
        parser.add_argument("--failed", action="store_true", help="Every failed tape.")
        parser.add_argument(
            "--enqueue", action="store_true", help="Hand them to the worker instead of here."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        codes: list[str] = [code.lstrip("!") for code in options["codes"]]
        if not codes and not options["failed"]:
            raise CommandError("name tape codes or pass --failed")
        selected = list(selectors.tape_list_to_reencode(codes=codes, failed=options["failed"]))
        missing = sorted(set(codes) - {tape.code for tape in selected})
        if missing:
            raise CommandError(f"no such tape: {', '.join(missing)}")
        failures = 0
        for index, tape in enumerate(selected, start=1):
            try:
                # Enqueued here rather than after commit: the command says if the queue is down.
                services.tape_reencode(tape=tape, actor=None, enqueue=False)
            except TapesiteError as exc:  # nuked, or being encoded right now
                self.stdout.write(f"{index}/{len(selected)} !{tape.code} refused: {exc.message}")
                failures += 1
                continue
            if options["enqueue"]:
                if not services.tape_enqueue_encode(tape_id=tape.pk):
                    raise CommandError(
                        f"queue unreachable: !{tape.code} stays uploaded and the reconcile step "
                        "enqueues it when the queue is back"
                    )
                self.stdout.write(f"{index}/{len(selected)} !{tape.code} queued")
                continue
            result = self._encode(tape, index, len(selected))
            failures += result.status != TapeStatus.READY
        if failures:
            raise CommandError(f"{failures} of {len(selected)} tape(s) did not encode")

    def _encode(self, tape: Tape, index: int, total: int) -> Tape:
        label = f"{index}/{total} !{tape.code}"
        interactive = sys.stdout.isatty()

        def show(fraction: float) -> None:
            if interactive:
                overall = (index - 1 + fraction) / total
                self.stdout.write(f"\r{label} {_bar(overall)}", ending="")
                self.stdout.flush()

        try:
            result = services.tape_encode(tape_id=tape.pk, on_progress=show)
        except services.RetryLater as exc:
            self.stdout.write(f"\r{label} {_bar(0)} will retry: {exc}")
            tape.refresh_from_db()
            return tape
        assert result is not None
        if result.status == TapeStatus.READY:
            self.stdout.write(f"\r{label} {_bar(index / total)} ready ({result.mp4_bytes} bytes)")
        else:
            self.stdout.write(f"\r{label} failed: {result.failure_code} {result.failure_message}")
        return result
