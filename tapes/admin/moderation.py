"""The admin's moderation actions: each asks for a reason on an intermediate page, then calls
the tapes service, which checks the permission again and writes the audit entry."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest

from accounts.models import User
from tapes import services
from tapes.models import Tape
from tapesite.errors import TapesiteError

# A bulk action over more tapes than this is refused: select fewer, or narrow the filters.
BULK_LIMIT = 500


class ReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=2000,
        help_text="Recorded in the audit log with your name and the time.",
    )


@dataclass(frozen=True)
class Moderation:
    name: str
    label: str
    done: str
    # The ModelAdmin's has_<permission>_permission decides who sees it.
    permission: str
    run: Callable[..., Any]


MODERATIONS: dict[str, Moderation] = {
    moderation.name: moderation
    for moderation in (
        Moderation("nuke", "Nuke", "nuked", "nuke", services.tape_nuke),
        Moderation("unnuke", "Un-nuke", "restored", "nuke", services.tape_unnuke),
        Moderation(
            "retry_encode",
            "Retry encode",
            "queued for encoding",
            "retry",
            services.tape_retry_encode,
        ),
        Moderation(
            "retry_federation",
            "Retry federation",
            "queued for federation",
            "retry",
            services.tape_retry_federation,
        ),
    )
}


@dataclass
class Outcome:
    done: list[str]
    refused: Counter[str]


def run_moderation(
    moderation: Moderation, tapes: Iterable[Tape], *, actor: User, reason: str
) -> Outcome:
    outcome = Outcome(done=[], refused=Counter())
    for tape in tapes:
        try:
            moderation.run(tape=tape, actor=actor, reason=reason)
        except TapesiteError as exc:
            outcome.refused[exc.message] += 1
        else:
            outcome.done.append(tape.code)
    return outcome


def report(request: HttpRequest, moderation: Moderation, outcome: Outcome) -> None:
    if outcome.done:
        shown = ", ".join(f"!{code}" for code in outcome.done[:20])
        more = f" and {len(outcome.done) - 20} more" if len(outcome.done) > 20 else ""
        messages.success(
            request, f"{moderation.label}: {len(outcome.done)} {moderation.done} ({shown}{more})."
        )
    for message, count in outcome.refused.items():
        times = f" ({count} tapes)" if count > 1 else ""
        messages.error(request, f"{moderation.label} refused{times}: {message}")
