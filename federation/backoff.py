"""How long to wait before trying a PDS again: exponential back-off with jitter between a floor
and a cap. Pure: no Django (the callers pass the settings in)."""

from __future__ import annotations

import random
from collections.abc import Callable

# Each wait is about this many times the last (10 s, 30 s, 90 s... with the default floor): close
# to the fixed schedule it replaced, so a PDS that is down for an hour still gets its record.
FACTOR = 3.0


def backoff_delay(
    attempt: int,
    *,
    floor: float,
    cap: float,
    wait_at_least: float = 0.0,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait after failed ``attempt`` (1 for the first).

    ``floor * FACTOR ** (attempt - 1)``, capped, then jittered down by up to half so that jobs
    that failed together do not all come back together; ``wait_at_least`` is what the server
    asked for (a 429's reset). Whatever the inputs (a reset of 0, in the past, or a year away),
    the answer stays within ``[floor, cap]``."""
    floor = max(float(floor), 0.0)
    cap = max(float(cap), floor)
    exponent = min(max(attempt, 1) - 1, 64)  # no overflow however many attempts
    base = min(cap, floor * FACTOR**exponent)
    jittered = base * (0.5 + 0.5 * rand())
    asked = wait_at_least if wait_at_least == wait_at_least else 0.0  # NaN: nothing asked
    return min(cap, max(floor, jittered, asked))
