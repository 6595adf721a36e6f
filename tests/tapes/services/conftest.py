"""What the quota tests of the services share: a refusal they expect, and a race of starts."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connections

from tapesite.errors import TapesiteError

Refused = Callable[[Callable[[], object], str], TapesiteError]
Race = Callable[[int, Callable[[int], object]], list[str]]


@pytest.fixture
def refused() -> Refused:
    """``refused(call, code)``: ``call()`` is refused with ``code`` as a 429; the refusal."""

    def check(call: Callable[[], object], code: str) -> TapesiteError:
        with pytest.raises(TapesiteError) as caught:
            call()
        assert caught.value.code == code
        assert caught.value.status == 429
        return caught.value

    return check


@pytest.fixture
def race() -> Race:
    """``race(racers, call)``: ``call(n)`` from each of ``racers`` threads (a database connection
    each), all released at once; each one's outcome, "started" or the code it was refused with."""

    def run_all(racers: int, call: Callable[[int], object]) -> list[str]:
        barrier = threading.Barrier(racers)
        outcomes: list[str] = []
        lock = threading.Lock()

        def run(n: int) -> None:
            try:
                barrier.wait(timeout=30)
                call(n)
                outcome = "started"
            except TapesiteError as exc:
                outcome = exc.code
            finally:
                connections.close_all()
            with lock:
                outcomes.append(outcome)

        threads = [threading.Thread(target=run, args=(n,)) for n in range(racers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert len(outcomes) == racers, "a racer did not finish within its minute"
        return outcomes

    return run_all
