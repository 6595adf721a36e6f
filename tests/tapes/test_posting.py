"""Posting on the real services: concurrent code allocation on PostgreSQL, growth of the code
length, and posting while Redis is down."""

from __future__ import annotations

import itertools
import threading
from datetime import timedelta
from typing import Any

import django_rq
import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import connection, connections
from django.utils import timezone

from tapes import services
from tapes.models import Tape, TapeStatus, TapeUpload
from tapes.queueing import ENCODE_QUEUE, encode_job_id
from tapes.storage import storage_for
from tests.conftest import tiny_zip


def _uploaded_slot(piece: str = "line") -> TapeUpload:
    """A slot whose ZIP is in storage, as after the browser's upload."""
    ticket = services.tape_upload_start(user=None, piece=piece, size=100, base_url="http://x/")
    storage_for(ticket.upload.bucket).save(ticket.upload.key, ContentFile(tiny_zip()))
    return ticket.upload


def post_concurrently(slots: list[TapeUpload]) -> tuple[list[str], list[BaseException]]:
    """Post every slot from its own thread (own DB connection), all released at once."""
    barrier = threading.Barrier(len(slots))
    codes: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def post(slot: TapeUpload) -> None:
        try:
            barrier.wait(timeout=30)
            code = services.tape_create(user=None, slug=slot.slug).code
            with lock:
                codes.append(code)
        except BaseException as exc:
            with lock:
                errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post, args=(slot,)) for slot in slots]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return codes, errors


@pytest.mark.django_db(transaction=True)
def test_32_concurrent_posts_get_32_distinct_codes(settings: Any) -> None:
    assert connection.vendor == "postgresql", "this test proves the race on PostgreSQL"
    # A small alphabet makes collisions between the concurrent inserts certain, so the test
    # exercises the retry, not luck: 4 letters give 64 three-character codes.
    settings.TAPES_CODE_ALPHABET = "abcd"
    codes, errors = post_concurrently([_uploaded_slot(f"p{i}") for i in range(32)])
    assert errors == []
    assert len(codes) == 32
    assert len(set(codes)) == 32
    assert Tape.objects.count() == 32


@pytest.mark.django_db(transaction=True)
def test_32_concurrent_posts_with_the_real_alphabet() -> None:
    codes, errors = post_concurrently([_uploaded_slot(f"p{i}") for i in range(32)])
    assert errors == []
    assert len(set(codes)) == 32
    assert all(len(code) == 3 for code in codes)


@pytest.mark.django_db
def test_codes_grow_to_four_when_three_are_full(settings: Any) -> None:
    settings.TAPES_CODE_ALPHABET = "ab"
    now = timezone.now()
    # Fill every three-character code of the tiny alphabet.
    for i, letters in enumerate(itertools.product("ab", repeat=3)):
        Tape.objects.create(
            code="".join(letters),
            slug=f"filler-{i}",
            when=now,
            bucket="b",
            piece="filler",
            zip_key=f"filler-{i}.zip",
            status_changed_at=now,
        )
    tape = services.tape_create(user=None, slug=_uploaded_slot().slug)
    assert len(tape.code) == 4
    assert set(tape.code) <= {"a", "b"}


@pytest.mark.django_db
def test_codes_keep_growing_when_crowded(settings: Any) -> None:
    settings.TAPES_CODE_ALPHABET = "ab"
    made = [
        services.tape_create(user=None, slug=_uploaded_slot(f"p{i}").slug).code for i in range(40)
    ]
    assert len(set(made)) == 40
    lengths = [len(code) for code in made]
    assert sum(1 for n in lengths if n == 3) <= 8
    assert max(lengths) >= 5  # 8 + 16 codes of length 3 and 4 cannot hold 40 tapes
    assert lengths[0] == 3  # an empty space starts at three characters


@pytest.mark.django_db(transaction=True)
def test_posting_with_redis_down_keeps_the_tape_and_reconcile_enqueues_it(
    private_redis: Any,
) -> None:
    slot = _uploaded_slot()
    private_redis.stop()
    tape = services.tape_create(user=None, slug=slot.slug)
    tape.refresh_from_db()
    assert tape.status == TapeStatus.UPLOADED
    assert Tape.objects.filter(pk=tape.pk).exists()

    # the reconcile command says the queue is down and loses nothing
    with pytest.raises(Exception, match="unreachable"):
        call_command("tapes_reconcile")
    tape.refresh_from_db()
    assert tape.status == TapeStatus.UPLOADED

    private_redis.start()
    call_command("tapes_reconcile")
    tape.refresh_from_db()
    assert tape.status == TapeStatus.QUEUED
    queue = django_rq.get_queue(ENCODE_QUEUE)
    assert queue.job_ids == [encode_job_id(tape.pk)]
    # running it again does not enqueue a second job for the same tape
    call_command("tapes_reconcile")
    assert queue.job_ids == [encode_job_id(tape.pk)]


@pytest.mark.django_db(transaction=True)
def test_the_worker_maintenance_tick_reconciles(private_redis: Any) -> None:
    from tapes.worker import run_reconcile_once

    slot = _uploaded_slot()
    private_redis.stop()
    tape = services.tape_create(user=None, slug=slot.slug)
    Tape.objects.filter(pk=tape.pk).update(status_changed_at=timezone.now() - timedelta(minutes=1))
    private_redis.start()
    queue = django_rq.get_queue(ENCODE_QUEUE)
    run_reconcile_once(queue.connection, 60)
    assert queue.job_ids == [encode_job_id(tape.pk)]
    tape.refresh_from_db()
    assert tape.status == TapeStatus.QUEUED


def test_an_idle_worker_wakes_up_for_the_reconcile_interval(settings: Any) -> None:
    from tapes.worker import TapesWorker

    settings.TAPES_RECONCILE_INTERVAL_SECONDS = 60
    worker = TapesWorker([django_rq.get_queue(ENCODE_QUEUE)])
    assert worker.maintenance_interval == 60
    assert worker.dequeue_timeout <= 60


@pytest.mark.django_db
def test_abandoned_uploads_are_swept_and_posted_ones_kept(settings: Any) -> None:
    abandoned = _uploaded_slot("gone")
    posted = _uploaded_slot("kept")
    services.tape_create(user=None, slug=posted.slug)
    fresh = _uploaded_slot("fresh")
    later = timezone.now() + timedelta(seconds=settings.TAPES_UPLOAD_ABANDONED_AFTER_SECONDS + 700)
    TapeUpload.objects.filter(pk=fresh.pk).update(expires_at=later)
    assert services.tape_uploads_sweep(now=later) == 1
    assert not TapeUpload.objects.filter(pk=abandoned.pk).exists()
    assert not storage_for(abandoned.bucket).exists(abandoned.key)
    for kept in (posted, fresh):
        assert TapeUpload.objects.filter(pk=kept.pk).exists()
        assert storage_for(kept.bucket).exists(kept.key)
