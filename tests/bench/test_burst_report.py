"""bench/burst_report.py: the burst benchmark's figures."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import burst_report


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]

    assert burst_report.percentile(values, 0.5) == 50
    assert burst_report.percentile(values, 0.99) == 99
    assert burst_report.percentile([3.0, 1.0, 2.0], 0.99) == 3
