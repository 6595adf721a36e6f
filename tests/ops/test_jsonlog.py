from __future__ import annotations

import json
import logging
import sys

from ops.jsonlog import JsonFormatter


def _record(**extra: object) -> logging.LogRecord:
    record = logging.LogRecord("tapes.transitions", logging.INFO, __file__, 1, "a %s", ("b",), None)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_one_json_object_per_line_with_the_extra_fields() -> None:
    line = JsonFormatter().format(_record(code="xyz", to="ready", duration_s=1.5, job_id=None))
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "a b"
    assert entry["level"] == "info"
    assert entry["logger"] == "tapes.transitions"
    assert entry["ts"].endswith("+00:00")
    assert {k: entry[k] for k in ("code", "to", "duration_s", "job_id")} == {
        "code": "xyz",
        "to": "ready",
        "duration_s": 1.5,
        "job_id": None,
    }
    assert "args" not in entry and "msg" not in entry


def test_tracebacks_stay_on_one_line() -> None:
    try:
        raise RuntimeError("boom\nsecond line")
    except RuntimeError:
        record = _record()
        record.exc_info = sys.exc_info()
    line = JsonFormatter().format(record)
    assert "\n" not in line
    assert "RuntimeError: boom" in json.loads(line)["exc"]


def test_values_json_cannot_encode_become_strings() -> None:
    entry = json.loads(JsonFormatter().format(_record(when=object())))
    assert entry["when"].startswith("<object object")
