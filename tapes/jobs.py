"""RQ entry points: take ids, load, call a service."""

from __future__ import annotations

from tapes import services


def encode_tape(tape_id: int) -> str | None:
    tape = services.tape_encode(tape_id=tape_id)
    return tape.status if tape is not None else None


def relocate_tape(tape_id: int) -> str:
    outcome = services.tape_relocate(tape_id=tape_id)
    if outcome is services.Relocated.RETRY:
        # Recorded on the tape's relocation; RQ runs the job again after its back-off.
        raise services.RetryLater(f"relocating tape {tape_id} failed; retrying")
    return outcome.value


def apply_buckets_cors(_: int) -> dict[str, list[str]]:
    # Raises while storage is down, so RQ retries it with back-off.
    return services.buckets_setup()
