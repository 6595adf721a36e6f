"""Where the pure encoder meets the site: its errors become the tape's failure, with their code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tapes import services
from tapes.models import Tape, TapeStatus
from tests.support import synth

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_tape_over_the_size_cap_fails_once_with_the_encoder_code(
    tmp_path: Path, settings: Any, post_tape: Any, api: Any
) -> None:
    path = tmp_path / "t.zip"
    synth.make_tape(path, frames=12, width=64, height=48, scale=1, seed=3)
    settings.TAPES_ENCODER = {"max_bytes": 2_000, "max_passes": 1}
    posted = post_tape(content=path.read_bytes())
    assert posted.status_code == 201, posted.content
    tape = Tape.objects.get(code=posted.json()["code"])

    services.tape_encode(tape_id=tape.pk)  # not retryable: no RetryLater

    tape.refresh_from_db()
    assert (tape.status, tape.failure_code, tape.attempts) == (
        TapeStatus.FAILED,
        "encode_too_large",
        1,
    )
    failure = api.get(f"/api/tapes/{tape.code}").json()["failure"]
    assert failure["code"] == "encode_too_large" and "limit" in failure["message"]
