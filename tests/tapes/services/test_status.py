"""Every status change of a tape writes one JSON log line: code, from -> to, duration, job id."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

import django_rq
import pytest
from django.utils import timezone

from ops.jsonlog import JsonFormatter
from tapes.models import TapeStatus
from tapes.services.status import TapeState, tape_status_set
from tests.tapes.factories import ReadyTapeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def lines() -> Any:
    """The JSON lines the tapes.transitions logger writes, as dicts."""
    written: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            written.append(self.format(record))

    handler = Keep()
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tapes.transitions")
    logger.addHandler(handler)
    yield lambda: [json.loads(line) for line in written]
    logger.removeHandler(handler)


@pytest.fixture
def committed(django_capture_on_commit_callbacks: Any) -> Any:
    """Lines are written on commit, and a test's transaction never commits: this runs what
    would run at commit when the block ends."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def test_a_change_logs_from_to_and_time_spent(lines: Any, committed: Any) -> None:
    tape = ReadyTapeFactory.create(
        status=TapeStatus.QUEUED, status_changed_at=timezone.now() - timedelta(seconds=90)
    )
    with committed():
        assert tape_status_set(tape_id=tape.pk, status=TapeStatus.PROCESSING) == 1
    [line] = lines()
    assert line["event"] == "tape_status"
    assert (line["code"], line["from"], line["to"]) == (tape.code, "queued", "processing")
    assert 89 < line["duration_s"] < 120
    assert line["job_id"] is None
    assert line["tape_id"] == tape.pk


def test_failures_carry_their_code(lines: Any, committed: Any) -> None:
    tape = ReadyTapeFactory.create(status=TapeStatus.PROCESSING)
    with committed():
        tape_status_set(tape_id=tape.pk, status=TapeStatus.FAILED, failure_code="archive_not_zip")
    assert lines()[0]["failure_code"] == "archive_not_zip"


def test_no_change_no_line(lines: Any, committed: Any) -> None:
    tape = ReadyTapeFactory.create(status=TapeStatus.READY)
    with committed():
        moved = tape_status_set(
            tape_id=tape.pk, status=TapeStatus.QUEUED, only_from=TapeStatus.UPLOADED
        )
    assert moved == 0
    assert lines() == []


def test_a_rolled_back_change_is_not_logged(lines: Any, committed: Any) -> None:
    from django.db import transaction

    tape = ReadyTapeFactory.create(status=TapeStatus.QUEUED)
    with committed(), pytest.raises(RuntimeError), transaction.atomic():
        tape_status_set(tape_id=tape.pk, status=TapeStatus.PROCESSING)
        raise RuntimeError("rolled back")
    assert lines() == []


def move_to_processing(tape_id: int) -> None:
    tape_status_set(tape_id=tape_id, status=TapeStatus.PROCESSING)


def test_inside_a_job_the_line_names_the_job(lines: Any, committed: Any) -> None:
    tape = ReadyTapeFactory.create(status=TapeStatus.QUEUED)
    queue = django_rq.get_queue("default", is_async=False)
    with committed():
        job = queue.enqueue(move_to_processing, tape.pk)
    assert job.is_finished
    assert lines()[0]["job_id"] == job.id


def _known(tape: Any) -> TapeState:
    return TapeState(code=tape.code, status=tape.status, since=tape.status_changed_at)


def test_a_known_row_changes_in_one_query(
    lines: Any, committed: Any, django_assert_num_queries: Any
) -> None:
    tape = ReadyTapeFactory.create(
        status=TapeStatus.UPLOADED, status_changed_at=timezone.now() - timedelta(seconds=5)
    )
    with committed(), django_assert_num_queries(1):
        moved = tape_status_set(
            tape_id=tape.pk,
            status=TapeStatus.QUEUED,
            only_from=TapeStatus.UPLOADED,
            known=_known(tape),
        )
    assert moved == 1
    tape.refresh_from_db()
    assert tape.status == TapeStatus.QUEUED
    [line] = lines()
    assert (line["from"], line["to"]) == ("uploaded", "queued")
    assert 4 < line["duration_s"] < 30


def test_a_row_that_moved_on_is_judged_by_its_real_status(lines: Any, committed: Any) -> None:
    # The caller's picture is stale: a worker already took the tape further.
    tape = ReadyTapeFactory.create(status=TapeStatus.UPLOADED)
    stale = _known(tape)
    tape_status_set(tape_id=tape.pk, status=TapeStatus.PROCESSING)
    with committed():
        moved = tape_status_set(
            tape_id=tape.pk, status=TapeStatus.QUEUED, only_from=TapeStatus.UPLOADED, known=stale
        )
    assert moved == 0
    tape.refresh_from_db()
    assert tape.status == TapeStatus.PROCESSING
    assert lines() == []  # nothing changed, nothing logged


def test_posting_nuking_restoring_and_purging_are_logged_too(
    lines: Any, committed: Any, moderator: Any, local_storage: Any, clean_queue: None
) -> None:
    from tapes.services import tape_nuke, tape_post, tape_unnuke, tapes_purge
    from tests.conftest import tiny_zip
    from tests.tapes.factories import UPLOAD_TOKEN, TapeUploadFactory

    upload = TapeUploadFactory.create(content=tiny_zip())
    with committed():
        tape = tape_post(user=None, slug=upload.slug, upload_token=UPLOAD_TOKEN).tape
    assert [(line["from"], line["to"]) for line in lines()] == [
        ("new", "uploaded"),
        ("uploaded", "queued"),
    ]
    assert {line["code"] for line in lines()} == {tape.code}
    with committed():
        tape_nuke(tape=tape, actor=moderator, reason="spam")
    with committed():
        tape_unnuke(tape=tape, actor=moderator, reason="appeal")
    with committed():
        tape_nuke(tape=tape, actor=moderator, reason="spam again")
    with committed():
        tapes_purge(older_than=timedelta(0))
    assert [(line["from"], line["to"]) for line in lines()[2:]] == [
        ("queued", "nuked"),
        ("nuked", "queued"),
        ("queued", "nuked"),
        ("nuked", "purged"),
    ]
    assert all(line["event"] == "tape_status" for line in lines())
