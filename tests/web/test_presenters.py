"""What the tape page's player starts from (web.presenters): the frame times it steps by."""

from __future__ import annotations

from typing import Any

import pytest

from tapes.models import TapeStatus
from tests.web.test_views import script_json

pytestmark = pytest.mark.django_db


def _state(client: Any, code: str) -> Any:
    return script_json(client.get(f"/t/{code}").content.decode(), "tape-state")


def test_the_player_gets_the_encoders_frame_times(client: Any, make_tape: Any) -> None:
    tape = make_tape(frames=3, duration_ms=51, frame_ms=[17, 16, 18], width=64, height=48)
    state = _state(client, tape.code)
    assert state["frame_ms"] == [17, 16, 18]
    assert (state["width"], state["height"]) == (64, 48)


def test_a_tape_from_before_the_frame_times_gets_equal_steps(client: Any, make_tape: Any) -> None:
    tape = make_tape(frames=3, duration_ms=50, frame_ms=[])
    # Rounded cumulatively, as the encoder times frames: they add up to the length exactly.
    assert _state(client, tape.code)["frame_ms"] == [17, 16, 17]


def test_a_tape_not_yet_checked_has_no_frame_times(client: Any, make_tape: Any) -> None:
    tape = make_tape(status=TapeStatus.QUEUED, frames=None, duration_ms=None, frame_ms=[])
    assert _state(client, tape.code)["frame_ms"] == []
