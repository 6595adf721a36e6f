"""RQ entry points: take ids, load, call a service."""

from __future__ import annotations

import time

from federation import queueing
from federation.models import TapeFederation
from federation.services.federate import tape_federate
from ops import metrics


def federate_tape(tape_id: int) -> str:
    # A nuked tape's job only deletes its record; anything else writes (or re-writes) it.
    wanted = TapeFederation.objects.filter(tape_id=tape_id).values_list("wanted", flat=True).first()
    operation = "delete" if wanted is False else "write"
    started = time.monotonic()
    outcome = tape_federate(tape_id=tape_id)
    metrics.observe_federation(
        seconds=time.monotonic() - started,
        operation=operation,
        outcome=str(outcome.state),
        code=outcome.code,
    )
    if outcome.retry_in is not None:
        queueing.enqueue_federate(tape_id, delay_seconds=outcome.retry_in)
    return f"{outcome.state} {outcome.code}".strip()
