"""Encoding a tape again: tape_reencode, the one path for owners, moderators and operators
(POST /api/tapes/<code>/retry is tested in tests/tapes/test_apis.py)."""

from __future__ import annotations

from typing import Any

import django_rq
import pytest

from audit.selectors import audit_entries_for
from tapes import services
from tapes.models import Tape, TapeStatus
from tapes.queueing import ENCODE
from tapesite.errors import TapesiteError
from tapesite.queueing import enqueue
from tests.conftest import audit_trail
from tests.tapes.factories import ReadyTapeFactory

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
    return django_rq.get_queue(ENCODE.queue).fetch_job(ENCODE.job_id(tape.pk))


def test_the_owner_retries_a_failed_tape(
    failed: Tape, user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        tape = services.tape_reencode(tape=failed, actor=user)
    assert queued_job(tape) is None  # enqueued after commit, not inside the transaction
    for callback in callbacks:
        callback()
    tape.refresh_from_db()
    assert tape.status == TapeStatus.QUEUED
    assert (tape.progress, tape.attempts, tape.failure_code, tape.failure_message) == (0, 0, "", "")
    assert queued_job(tape) is not None


def test_the_owners_retry_is_not_audited(failed: Tape, user: Any) -> None:
    services.tape_reencode(tape=failed, actor=user)
    assert not audit_entries_for(target=failed).exists()


def test_a_moderator_may_retry_anyones_and_guests_tapes_and_it_is_audited(
    make_tape: Any, moderator: Any, django_capture_on_commit_callbacks: Any
) -> None:
    guest = make_tape(status=TapeStatus.FAILED, failure_code="encode_crashed")
    with django_capture_on_commit_callbacks(execute=True):
        services.tape_reencode(tape=guest, actor=moderator, reason="encoder fixed")
    guest.refresh_from_db()
    assert guest.status == TapeStatus.QUEUED
    details = {"status": "failed", "failure_code": "encode_crashed"}
    assert audit_trail(guest) == [(moderator, "tape_retry_encode", "encoder fixed", details)]


def test_staff_without_the_change_permission_may_not_retry_others_tapes(
    failed: Tape, staff: Any
) -> None:
    with pytest.raises(TapesiteError) as refused:
        services.tape_reencode(tape=failed, actor=staff)
    assert (refused.value.code, refused.value.status) == ("forbidden", 403)
    assert refused.value.details == {"permission": "tapes.change_tape"}
    failed.refresh_from_db()
    assert failed.status == TapeStatus.FAILED
    assert not audit_entries_for(target=failed).exists()


def test_nobody_else_may_retry(failed: Tape, other_user: Any, make_tape: Any, user: Any) -> None:
    with pytest.raises(TapesiteError) as refused:
        services.tape_reencode(tape=failed, actor=other_user)
    assert (refused.value.code, refused.value.status) == ("forbidden", 403)
    guest = make_tape(status=TapeStatus.FAILED, failure_code="encode_crashed")
    with pytest.raises(TapesiteError):
        services.tape_reencode(tape=guest, actor=user)  # a guest's tape has no owner to be
    failed.refresh_from_db()
    assert failed.status == TapeStatus.FAILED


@pytest.mark.parametrize("status", [TapeStatus.READY, TapeStatus.QUEUED, TapeStatus.PROCESSING])
def test_only_a_failed_tape_moves(make_tape: Any, user: Any, status: TapeStatus) -> None:
    tape = make_tape(user=user, status=status)
    with pytest.raises(TapesiteError) as refused:
        services.tape_reencode(tape=tape, actor=user)
    assert (refused.value.code, refused.value.status) == ("tape_not_failed", 409)
    assert refused.value.details == {"status": status}
    tape.refresh_from_db()
    assert tape.status == status


def test_a_moderator_may_encode_a_ready_tape_again(
    moderator: Any, django_capture_on_commit_callbacks: Any
) -> None:
    tape = ReadyTapeFactory.create()
    with django_capture_on_commit_callbacks(execute=True):
        services.tape_reencode(tape=tape, actor=moderator, reason="new encoder")
    tape.refresh_from_db()
    assert (tape.status, tape.attempts) == (TapeStatus.QUEUED, 0)
    job = django_rq.get_queue(ENCODE.queue).fetch_job(ENCODE.job_id(tape.pk))
    assert job is not None and job.func_name == ENCODE.func and job.args == (tape.pk,)
    assert audit_entries_for(target=tape).get().details["status"] == "ready"


def test_an_operators_reencode_is_allowed_and_not_audited_as_a_person() -> None:
    tape = ReadyTapeFactory.create(failed=True)
    services.tape_reencode(tape=tape, actor=None, enqueue=False)
    tape.refresh_from_db()
    assert (tape.status, tape.failure_code) == (TapeStatus.UPLOADED, "")
    assert not audit_entries_for(target=tape).exists()
    assert not django_rq.get_queue(ENCODE.queue).count


def test_a_nuked_tape_is_refused(moderator: Any) -> None:
    with pytest.raises(TapesiteError) as nuked:
        services.tape_reencode(tape=ReadyTapeFactory.create(failed=True, nuke=1), actor=moderator)
    assert (nuked.value.code, nuked.value.status) == ("tape_nuked", 409)
    assert not django_rq.get_queue(ENCODE.queue).count


def test_a_tape_being_encoded_is_refused(moderator: Any) -> None:
    tape = ReadyTapeFactory.create(status=TapeStatus.QUEUED)
    enqueue(ENCODE, tape.pk)
    with pytest.raises(TapesiteError) as running:
        services.tape_reencode(tape=tape, actor=moderator)
    assert (running.value.code, running.value.status) == ("encode_running", 409)
    assert audit_entries_for(target=tape).count() == 0
