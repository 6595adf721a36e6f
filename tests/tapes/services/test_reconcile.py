"""Reconcile, called directly and through its command: tapes posted while Redis was down get
enqueued, stuck ones requeued or given up, live jobs left alone."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import django_rq
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from tapes import services
from tapes.models import Tape, TapeStatus
from tapes.queueing import ENCODE
from tests.conftest import tiny_zip
from tests.tapes.factories import TapeUploadFactory, post

pytestmark = pytest.mark.django_db(transaction=True)


def test_posting_with_redis_down_keeps_the_tape_and_reconcile_enqueues_it(
    private_redis: Any,
) -> None:
    slot = TapeUploadFactory.create(content=tiny_zip())
    private_redis.stop()
    tape = post(slot)
    tape.refresh_from_db()
    assert tape.status == TapeStatus.UPLOADED
    assert Tape.objects.filter(pk=tape.pk).exists()

    # the reconcile command says the queue is down and loses nothing
    with pytest.raises(CommandError, match="unreachable"):
        call_command("tapes_reconcile")
    tape.refresh_from_db()
    assert tape.status == TapeStatus.UPLOADED

    private_redis.start()
    call_command("tapes_reconcile")
    tape.refresh_from_db()
    assert tape.status == TapeStatus.QUEUED
    queue = django_rq.get_queue(ENCODE.queue)
    assert queue.job_ids == [ENCODE.job_id(tape.pk)]
    # running it again does not enqueue a second job for the same tape
    call_command("tapes_reconcile")
    assert queue.job_ids == [ENCODE.job_id(tape.pk)]


def test_reconcile_leaves_live_jobs_alone_and_gives_up_after_the_limit(settings: Any) -> None:
    tape = post(
        TapeUploadFactory.create(content=tiny_zip())
    )  # queued, with a live job on the queue
    stale = timezone.now() - timedelta(seconds=settings.TAPES_STUCK_AFTER_SECONDS + 5)
    Tape.objects.filter(pk=tape.pk).update(updated_at=stale)
    assert services.tapes_reconcile().requeued == []

    django_rq.get_queue(ENCODE.queue).empty()
    Tape.objects.filter(pk=tape.pk).update(
        status=TapeStatus.PROCESSING, attempts=settings.TAPES_MAX_ATTEMPTS, updated_at=stale
    )
    assert services.tapes_reconcile().gave_up == [tape.pk]
    tape.refresh_from_db()
    assert tape.status == TapeStatus.FAILED
    assert tape.failure_code == "encode_gave_up"


def test_reconcile_waits_out_the_grace_and_skips_nuked_tapes() -> None:
    tape = post(TapeUploadFactory.create(content=tiny_zip()))
    nuked = post(TapeUploadFactory.create(content=tiny_zip()))
    django_rq.get_queue(ENCODE.queue).empty()
    Tape.objects.update(status=TapeStatus.UPLOADED)
    Tape.objects.filter(pk=nuked.pk).update(nuked=True)
    assert services.tapes_reconcile(uploaded_grace_seconds=3600).enqueued == []
    assert services.tapes_reconcile(uploaded_grace_seconds=0).enqueued == [tape.pk]
