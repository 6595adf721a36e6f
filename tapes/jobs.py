"""RQ entry points: take ids, load, call a service."""

from __future__ import annotations

from tapes import services


def encode_tape(tape_id: int) -> str | None:
    tape = services.tape_encode(tape_id=tape_id)
    return tape.status if tape is not None else None
