"""The pure pieces of bench/burst.py: its reading of the status log (the bench itself runs the
site; see docs/benchmarks.md)."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import burst


def test_transitions_counts_each_status_a_tape_entered() -> None:
    def line(code: str, to: str) -> str:
        return json.dumps({"event": "tape_status", "code": code, "from": "x", "to": to})

    log = "\n".join(
        [
            "12:00:00 encode: tapes.jobs.encode(1) (job-1)",
            line("aaa", "processing"),
            line("aaa", "ready"),
            line("bbb", "processing"),
            '{"event": "other", "code": "bbb", "to": "ready"}',
            line("bbb", "processing"),
            "{not json",
        ]
    )

    assert burst.transitions(log) == {
        "aaa": Counter({"processing": 1, "ready": 1}),
        "bbb": Counter({"processing": 2}),
    }
