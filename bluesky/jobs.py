"""RQ entry points: take ids, call a service."""

from __future__ import annotations

from bluesky import queueing
from bluesky.services.run import bluesky_post_run


def post_tape(tape_id: int) -> str:
    outcome = bluesky_post_run(tape_id=tape_id)
    if outcome.retry_in is not None:
        queueing.enqueue_post(tape_id, delay_seconds=outcome.retry_in)
    return f"{outcome.state} {outcome.code}".strip()
