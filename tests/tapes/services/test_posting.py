"""Posting, called directly on the real services: concurrent code allocation on PostgreSQL, growth
of the code length, who may post a slot, and the soft delete."""

from __future__ import annotations

import itertools
import threading
from typing import Any

import django_rq
import pytest
from django.db import connection, connections

from tapes import services
from tapes.models import Tape, TapeStatus, TapeUpload
from tapes.queueing import ENCODE
from tapes.services import claims
from tapesite.errors import TapesiteError
from tests.conftest import tiny_zip
from tests.tapes.factories import UPLOAD_TOKEN, TapeFactory, TapeUploadFactory, post


def uploaded(**kwargs: Any) -> TapeUpload:
    """A slot whose ZIP is in storage, as after the browser's upload."""
    return TapeUploadFactory.create(content=tiny_zip(), **kwargs)


def post_concurrently(slots: list[TapeUpload]) -> tuple[list[str], list[BaseException]]:
    """Post every slot from its own thread (own DB connection), all released at once."""
    barrier = threading.Barrier(len(slots))
    codes: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(slot: TapeUpload) -> None:
        try:
            barrier.wait(timeout=30)
            code = post(slot).code
            with lock:
                codes.append(code)
        except BaseException as exc:
            with lock:
                errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(slot,)) for slot in slots]
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
    codes, errors = post_concurrently([uploaded() for _ in range(32)])
    assert errors == []
    assert len(codes) == 32
    assert len(set(codes)) == 32
    assert Tape.objects.count() == 32


@pytest.mark.django_db(transaction=True)
def test_32_concurrent_posts_with_the_real_alphabet() -> None:
    codes, errors = post_concurrently([uploaded() for _ in range(32)])
    assert errors == []
    assert len(set(codes)) == 32
    assert all(len(code) == 3 for code in codes)


@pytest.mark.django_db
def test_codes_grow_to_four_when_three_are_full(settings: Any) -> None:
    settings.TAPES_CODE_ALPHABET = "ab"
    # Fill every three-character code of the tiny alphabet.
    for letters in itertools.product("ab", repeat=3):
        TapeFactory.create(code="".join(letters))
    tape = post(uploaded())
    assert len(tape.code) == 4
    assert set(tape.code) <= {"a", "b"}


@pytest.mark.django_db
def test_codes_keep_growing_when_crowded(settings: Any) -> None:
    settings.TAPES_CODE_ALPHABET = "ab"
    made = [post(uploaded()).code for _ in range(40)]
    assert len(set(made)) == 40
    lengths = [len(code) for code in made]
    assert sum(1 for n in lengths if n == 3) <= 8
    assert max(lengths) >= 5  # 8 + 16 codes of length 3 and 4 cannot hold 40 tapes
    assert lengths[0] == 3  # an empty space starts at three characters


@pytest.mark.django_db
def test_create_registers_the_slot_and_queues_after_commit(
    user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    slot = uploaded(user=user, piece="wand")
    with django_capture_on_commit_callbacks(execute=True):
        tape = post(slot, user=user)
    tape.refresh_from_db()
    slot.refresh_from_db()
    assert (tape.user, tape.piece, tape.slug) == (user, "wand", slot.slug)
    # Posting asks nothing of storage: the tape names no ZIP until the encode job has copied
    # it out of the form-writable key, and counts the declared size meanwhile.
    assert (tape.bucket, tape.zip_key) == (slot.bucket, "")
    assert tape.zip_bytes == slot.declared_bytes
    assert slot.tape == tape
    assert tape.status == TapeStatus.QUEUED
    assert django_rq.get_queue(ENCODE.queue).job_ids == [ENCODE.job_id(tape.pk)]


@pytest.mark.django_db
def test_create_needs_the_slots_owner_and_token(user: Any) -> None:
    mine = uploaded(user=user)
    with pytest.raises(TapesiteError) as caught:
        post(mine)  # as a guest
    assert caught.value.code == "upload_not_found"
    with pytest.raises(TapesiteError) as caught:
        services.tape_post(user=user, slug=mine.slug, upload_token=UPLOAD_TOKEN + "x")
    assert caught.value.code == "upload_not_found"
    assert not Tape.objects.exists()


@pytest.mark.django_db
def test_posting_does_not_touch_storage(user: Any) -> None:
    # No ZIP in storage at all, and storage is never asked: the check is the job's
    # (tests/tapes/services/test_take.py).
    slot = TapeUploadFactory.create(user=user)
    tape = post(slot, user=user)
    slot.refresh_from_db()
    assert slot.tape == tape
    assert tape.zip_key == ""


@pytest.mark.django_db
def test_post_again_answers_the_same_tape_with_a_new_claim_token(
    django_capture_on_commit_callbacks: Any,
) -> None:
    slot = uploaded()
    with django_capture_on_commit_callbacks(execute=True):
        first = services.tape_post(user=None, slug=slot.slug, upload_token=UPLOAD_TOKEN)
        again = services.tape_post(user=None, slug=slot.slug, upload_token=UPLOAD_TOKEN)
    assert (first.created, again.created) == (True, False)
    assert again.tape.pk == first.tape.pk
    assert Tape.objects.count() == 1
    assert first.claim_token and again.claim_token and first.claim_token != again.claim_token
    assert claims.claim_token_holds(tape=again.tape, token=again.claim_token)
    assert not claims.claim_token_holds(tape=again.tape, token=first.claim_token)
    # Encoded once: the replay queues nothing more.
    assert django_rq.get_queue(ENCODE.queue).job_ids == [ENCODE.job_id(first.tape.pk)]


@pytest.mark.django_db
def test_post_again_of_a_claimed_or_users_tape_carries_no_claim_token(user: Any) -> None:
    mine = uploaded(user=user)
    posted = services.tape_post(user=user, slug=mine.slug, upload_token=UPLOAD_TOKEN)
    assert posted.claim_token is None
    assert services.tape_post(user=user, slug=mine.slug, upload_token=UPLOAD_TOKEN).tape == (
        posted.tape
    )

    guest = uploaded()
    first = services.tape_post(user=None, slug=guest.slug, upload_token=UPLOAD_TOKEN)
    assert first.claim_token is not None
    services.tapes_claim(user=user, tokens=[first.claim_token])
    again = services.tape_post(user=None, slug=guest.slug, upload_token=UPLOAD_TOKEN)
    assert (again.created, again.claim_token) == (False, None)


@pytest.mark.django_db
def test_post_again_after_a_nuke_is_slug_taken() -> None:
    slot = uploaded()
    tape = services.tape_post(user=None, slug=slot.slug, upload_token=UPLOAD_TOKEN).tape
    Tape.objects.filter(pk=tape.pk).update(nuked=True, nuked_at=tape.when)
    with pytest.raises(TapesiteError) as caught:
        services.tape_post(user=None, slug=slot.slug, upload_token=UPLOAD_TOKEN)
    assert (caught.value.code, caught.value.status) == ("slug_taken", 409)
