"""How federation reacts to what happens to a tape (``tapes.events``: ready, claimed, nuked,
un-nuked, edited, visibility changed), connected in ``FederationConfig.ready()``. The tapes app
never imports this module."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from federation.services.lifecycle import (
    tape_federation_on_edit,
    tape_federation_on_nuke,
    tape_federation_on_unnuke,
    tape_federation_on_visibility,
    tape_federation_start,
    tapes_federation_reconcile,
)
from tapes import events
from tapes.models import Tape
from tapes.services import reconciler_register


def on_ready(sender: type[Tape], *, tape: Tape, **kwargs: Any) -> None:
    # A linked owner's tape becomes a record on their PDS: its own state, its own job.
    tape_federation_start(tape=tape)


def on_claimed(sender: type[Tape], *, tape: Tape, **kwargs: Any) -> None:
    # A ready tape claimed by a linked user; one still encoding starts from on_ready instead.
    tape_federation_start(tape=tape)


def on_nuked(sender: type[Tape], *, tape: Tape, **kwargs: Any) -> None:
    tape_federation_on_nuke(tape=tape)


def on_unnuked(sender: type[Tape], *, tape: Tape, **kwargs: Any) -> None:
    tape_federation_on_unnuke(tape=tape)


def on_edited(sender: type[Tape], *, tape: Tape, **kwargs: Any) -> None:
    # The record says what the tape says: put again under its rkey.
    tape_federation_on_edit(tape=tape)


def on_visibility_changed(sender: type[Tape], *, tape: Tape, **kwargs: Any) -> None:
    # Unlisted tapes are reachable by their code only; a repo is public and listable.
    tape_federation_on_visibility(tape=tape)


def reconcile() -> dict[str, list[int]]:
    return asdict(tapes_federation_reconcile())


def connect() -> None:
    for signal, receiver in (
        (events.tape_ready, on_ready),
        (events.tape_claimed, on_claimed),
        (events.tape_nuked, on_nuked),
        (events.tape_unnuked, on_unnuked),
        (events.tape_edited, on_edited),
        (events.tape_visibility_changed, on_visibility_changed),
    ):
        signal.connect(receiver, sender=Tape, dispatch_uid=f"federation.{receiver.__name__}")
    reconciler_register("federation", reconcile)
