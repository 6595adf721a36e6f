from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from federation.models import FederationState, TapeFederation
from federation.services import tape_federate, tape_federation_start
from tapes.models import Tape


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
        tapes = Tape.objects.visible()
        if options["failed"]:
            failed = TapeFederation.objects.filter(state=FederationState.FAILED)
            selected = list(tapes.filter(pk__in=failed.values("tape_id")).order_by("pk"))
        else:
            selected = list(tapes.filter(code__in=codes))
            missing = sorted(set(codes) - {tape.code for tape in selected})
            if missing:
                raise CommandError(f"no such tape: {', '.join(missing)}")
        failures = 0
        total = len(selected)
        for index, tape in enumerate(selected, start=1):
            label = f"{index}/{total} !{tape.code}"
            if tape_federation_start(tape=tape) is None:
                self.stdout.write(f"{label} skipped: not ready, or the owner has no linked account")
                failures += 1
                continue
            outcome = tape_federate(tape_id=tape.pk)
            fed = TapeFederation.objects.get(tape=tape)
            if outcome.state == FederationState.DONE:
                self.stdout.write(f"{label} {_bar(index / total)} done {tape.at.get('uri', '')}")
                tape.refresh_from_db(fields=["at"])
            else:
                failures += 1
                self.stdout.write(
                    f"{label} {_bar(index / total)} {fed.state}: {fed.code} {fed.message}"
                )
        if failures:
            raise CommandError(f"{failures} of {total} tape(s) did not federate")
