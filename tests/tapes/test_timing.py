"""Property tests of the cumulative-rounding timing maths."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tapes.timing import MIN_DURATION_MS, frame_timing

# Realistic frames: requestAnimationFrame jitter around 16.7 ms plus the odd long pause.
normal_durations = st.lists(
    st.floats(min_value=1.0, max_value=10_000.0, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=300,
)
# Anything a timing.json could hold, including sub-millisecond and zero durations.
any_durations = st.lists(
    st.floats(min_value=0.0, max_value=100.0, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=300,
)


def exact_prefix_sums(durations: list[float]) -> list[Fraction]:
    sums = [Fraction(0)]
    for value in durations:
        sums.append(sums[-1] + Fraction(value))
    return sums


def half_up(value: Fraction) -> int:
    return math.floor(value + Fraction(1, 2))


@given(normal_durations)
def test_total_is_rounded_sum(durations: list[float]) -> None:
    timing = frame_timing(durations)
    assert timing.total_ms == half_up(exact_prefix_sums(durations)[-1])
    assert sum(timing.durations) == timing.total_ms


@given(normal_durations)
def test_no_frame_drifts_more_than_half_a_millisecond(durations: list[float]) -> None:
    timing = frame_timing(durations)
    for pts, exact in zip(timing.pts, exact_prefix_sums(durations), strict=False):
        assert abs(pts - exact) <= Fraction(1, 2)


@given(normal_durations)
def test_each_duration_within_one_ms_of_its_input(durations: list[float]) -> None:
    timing = frame_timing(durations)
    for got, wanted in zip(timing.durations, durations, strict=True):
        assert abs(got - wanted) < 1 + 1e-9


@given(any_durations)
def test_pts_strictly_increase_and_durations_are_positive(durations: list[float]) -> None:
    timing = frame_timing(durations)
    assert len(timing) == len(durations)
    assert timing.pts[0] == 0
    assert all(d >= MIN_DURATION_MS for d in timing.durations)
    assert all(b > a for a, b in zip(timing.pts, timing.pts[1:], strict=False))
    for i in range(len(timing) - 1):
        assert timing.pts[i] + timing.durations[i] == timing.pts[i + 1]


@given(any_durations)
def test_tiny_inputs_never_end_before_the_rounded_total(durations: list[float]) -> None:
    timing = frame_timing(durations)
    exact = exact_prefix_sums(durations)
    assert timing.total_ms >= half_up(exact[-1])
    # A push only delays a frame to 1 ms after the latest grid point before it: the error is the
    # shortfall of the current run of tiny frames, never an accumulation over the whole tape.
    for i, pts in enumerate(timing.pts):
        assert pts == max(half_up(exact[j]) + (i - j) * MIN_DURATION_MS for j in range(i + 1))


@given(any_durations, any_durations)
def test_pushed_frames_snap_back_to_the_grid(head: list[float], tail: list[float]) -> None:
    # After a run of tiny frames, a long pause lets later frames return to the exact grid.
    pause = float(len(head) + 10)
    durations = [*head, pause, *tail]
    timing = frame_timing(durations)
    exact = exact_prefix_sums(durations)
    resumed = len(head) + 1
    assert timing.pts[resumed] == half_up(exact[resumed])


def test_jittered_sixty_fps() -> None:
    timing = frame_timing([1000 / 60] * 60)
    assert timing.total_ms == 1000
    assert set(timing.durations) == {16, 17}
    assert timing.pts[:4] == (0, 17, 33, 50)


def test_half_rounds_up_consistently() -> None:
    timing = frame_timing([0.5, 1.0, 1.0])
    assert timing.pts == (0, 1, 2)
    assert timing.total_ms == 3


def test_empty_and_zero() -> None:
    assert len(frame_timing([])) == 0
    assert frame_timing([]).total_ms == 0
    assert frame_timing([0.0]).durations == (1,)
    assert frame_timing([0.0, 0.0, 5.0]).pts == (0, 1, 2)


@pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf])
def test_rejects_broken_durations(bad: float) -> None:
    with pytest.raises(ValueError):
        frame_timing([16.0, bad])
