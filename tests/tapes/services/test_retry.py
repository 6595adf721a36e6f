"""Retrying a tape whose video failed: tape_retry (POST /api/tapes/<code>/retry is tested in
tests/tapes/test_apis.py)."""

from __future__ import annotations

from typing import Any

import django_rq
import pytest

from tapes import services
from tapes.models import Tape, TapeStatus
from tapes.queueing import ENCODE_QUEUE, encode_job_id
from tapesite.errors import TapesiteError

pytestmark = pytest.mark.django_db


@pytest.fixture
def failed(make_tape: Any, user: Any) -> Tape:
    tape: Tape = make_tape(
        user=user,
        status=TapeStatus.FAILED,
        progress=35,
        attempts=5,
        failure_code="encode_gave_up",
        failure_message="gave up after 5 attempts",
    )
    return tape


def queued_job(tape: Tape) -> Any:
    return django_rq.get_queue(ENCODE_QUEUE).fetch_job(encode_job_id(tape.pk))


def test_the_owner_retries_a_failed_tape(
    failed: Tape, user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        tape = services.tape_retry(tape=failed, actor=user)
    assert queued_job(tape) is None  # enqueued after commit, not inside the transaction
    for callback in callbacks:
        callback()
    tape.refresh_from_db()
    assert tape.status == TapeStatus.QUEUED
    assert (tape.progress, tape.attempts, tape.failure_code, tape.failure_message) == (0, 0, "", "")
    assert queued_job(tape) is not None


def test_staff_may_retry_anyones_and_guests_tapes(
    make_tape: Any, staff: Any, django_capture_on_commit_callbacks: Any
) -> None:
    guest = make_tape(status=TapeStatus.FAILED, failure_code="encode_crashed")
    with django_capture_on_commit_callbacks(execute=True):
        services.tape_retry(tape=guest, actor=staff)
    guest.refresh_from_db()
    assert guest.status == TapeStatus.QUEUED


def test_nobody_else_may_retry(failed: Tape, other_user: Any, make_tape: Any, user: Any) -> None:
    with pytest.raises(TapesiteError) as refused:
        services.tape_retry(tape=failed, actor=other_user)
    assert (refused.value.code, refused.value.status) == ("forbidden", 403)
    guest = make_tape(status=TapeStatus.FAILED, failure_code="encode_crashed")
    with pytest.raises(TapesiteError):
        services.tape_retry(tape=guest, actor=user)  # a guest's tape has no owner to be
    failed.refresh_from_db()
    assert failed.status == TapeStatus.FAILED


@pytest.mark.parametrize("status", [TapeStatus.READY, TapeStatus.QUEUED, TapeStatus.PROCESSING])
def test_only_a_failed_tape_moves(make_tape: Any, user: Any, status: TapeStatus) -> None:
    tape = make_tape(user=user, status=status)
    with pytest.raises(TapesiteError) as refused:
        services.tape_retry(tape=tape, actor=user)
    assert (refused.value.code, refused.value.status) == ("tape_not_failed", 409)
    assert refused.value.details == {"status": status}
    tape.refresh_from_db()
    assert tape.status == status
