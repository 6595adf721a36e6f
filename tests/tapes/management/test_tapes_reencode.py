"""manage.py tapes_reencode: in this process with progress, or handed to the queue."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import django_rq
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tapes import services
from tapes.models import Tape, TapeStatus
from tapes.queueing import ENCODE
from tapes.storage import storage_for
from tests.support import synth
from tests.tapes.factories import TapeUploadFactory, post

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def failed_tape(tmp_path: Path) -> Tape:
    """A posted tape that failed for a ZIP storage has since got back."""
    path = tmp_path / "t.zip"
    synth.make_tape(path, frames=6, width=32, height=24, scale=2, seed=3)
    tape = services.tape_zip_take(tape=post(TapeUploadFactory.create(content=path.read_bytes())))
    Tape.objects.filter(pk=tape.pk).update(status=TapeStatus.FAILED, failure_code="zip_missing")
    django_rq.get_queue(ENCODE.queue).empty()  # its encode job ran and failed: none is waiting
    return tape


def test_reencode_recovers_failed_tapes(failed_tape: Tape, capsys: Any) -> None:
    call_command("tapes_reencode", "--failed")
    failed_tape.refresh_from_db()
    assert failed_tape.status == TapeStatus.READY
    assert f"!{failed_tape.code}" in capsys.readouterr().out


def test_reencode_can_hand_tapes_to_the_queue(failed_tape: Tape, capsys: Any) -> None:
    queue = django_rq.get_queue(ENCODE.queue)
    queue.empty()
    call_command("tapes_reencode", "--enqueue", failed_tape.code)
    failed_tape.refresh_from_db()
    assert failed_tape.status == TapeStatus.QUEUED
    assert (failed_tape.failure_code, failed_tape.attempts) == ("", 0)
    assert queue.job_ids == [ENCODE.job_id(failed_tape.pk)]
    assert f"!{failed_tape.code} queued" in capsys.readouterr().out


def test_reencode_with_the_queue_down_keeps_the_tape_for_reconcile(
    failed_tape: Tape, private_redis: Any
) -> None:
    private_redis.stop()
    with pytest.raises(CommandError, match="queue unreachable"):
        call_command("tapes_reencode", "--enqueue", failed_tape.code)
    failed_tape.refresh_from_db()
    assert failed_tape.status == TapeStatus.UPLOADED  # reconcile enqueues it when Redis is back
    private_redis.start()
    assert services.tapes_reconcile(uploaded_grace_seconds=0).enqueued == [failed_tape.pk]


def test_reencode_names_unknown_codes(failed_tape: Tape) -> None:
    with pytest.raises(CommandError, match="no such tape: nope"):
        call_command("tapes_reencode", failed_tape.code, "nope")
    with pytest.raises(CommandError, match="name tape codes or pass --failed"):
        call_command("tapes_reencode")


def test_reencode_of_a_zip_still_missing_reports_the_failure(failed_tape: Tape) -> None:
    storage_for(failed_tape.bucket).delete(failed_tape.zip_key)
    with pytest.raises(CommandError, match="did not encode"):
        call_command("tapes_reencode", "--failed")
