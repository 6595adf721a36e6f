"""The back-off rule (federation/backoff.py): pure, so plain unit tests."""

from __future__ import annotations

import math

import pytest

from federation.backoff import backoff_delay

FLOOR, CAP = 10.0, 3600.0


@pytest.mark.parametrize("rand", [0.0, 0.5, 1.0])
def test_every_delay_lies_between_the_floor_and_the_cap(rand: float) -> None:
    delays = [
        backoff_delay(attempt, floor=FLOOR, cap=CAP, rand=lambda: rand) for attempt in range(1, 200)
    ]
    assert all(FLOOR <= delay <= CAP for delay in delays)
    assert delays[0] == FLOOR
    assert delays[-1] == (CAP if rand == 1.0 else max(FLOOR, CAP * (0.5 + 0.5 * rand)))


def test_delays_grow_about_threefold_until_the_cap() -> None:
    top = [backoff_delay(n, floor=FLOOR, cap=CAP, rand=lambda: 1.0) for n in range(1, 9)]
    assert top == [10, 30, 90, 270, 810, 2430, CAP, CAP]
    # With the least jitter each attempt still waits longer than the one before.
    low = [backoff_delay(n, floor=FLOOR, cap=CAP, rand=lambda: 0.0) for n in range(1, 7)]
    assert low == sorted(low) and len(set(low)) == len(low)


@pytest.mark.parametrize(
    "asked", [0.0, -1_700_000_000.0, -5.0, math.nan], ids=["zero", "epoch-0", "past", "nan"]
)
def test_a_server_asking_for_no_wait_still_gets_the_floor(asked: float) -> None:
    assert backoff_delay(1, floor=FLOOR, cap=CAP, wait_at_least=asked, rand=lambda: 0.0) == FLOOR


@pytest.mark.parametrize("asked", [10 * 365 * 86400.0, math.inf], ids=["ten-years", "inf"])
def test_a_server_asking_for_an_absurd_wait_gets_the_cap(asked: float) -> None:
    assert backoff_delay(1, floor=FLOOR, cap=CAP, wait_at_least=asked) == CAP


def test_a_reasonable_reset_is_waited_for() -> None:
    assert backoff_delay(1, floor=FLOOR, cap=CAP, wait_at_least=300.0, rand=lambda: 0.0) == 300.0


def test_attempt_numbers_out_of_range_stay_bounded() -> None:
    assert backoff_delay(0, floor=FLOOR, cap=CAP, rand=lambda: 1.0) == FLOOR
    assert backoff_delay(10**9, floor=FLOOR, cap=CAP, rand=lambda: 1.0) == CAP
