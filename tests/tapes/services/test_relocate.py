"""Relocation of a claimed guest tape's files to its owner's place (local storage here; the
SeaweedFS path and the worker are in tests/tapes/test_claim_relocation.py): the row always names
files that exist, originals go once links to them expired, failures are counted and visible."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.utils import timezone

from accounts.models import User
from tapes import jobs, services
from tapes.models import RelocationState, Tape, TapeRelocation, TapeStatus
from tapes.queueing import RELOCATE
from tapes.services.relocate import originals_grace
from tapes.storage import sibling_key, storage_for
from tapesite import queueing
from tests.tapes.factories import TapeFactory

pytestmark = pytest.mark.django_db

SUFFIXES = {"zip_key": "", "mp4_key": ".mp4", "thumbnail_key": "-thumb.webp"}


def guest_tape_with_files(status: TapeStatus = TapeStatus.READY) -> Tape:
    tape = TapeFactory.create(status=status)
    guest = storage_for(tape.bucket)
    for field, suffix in SUFFIXES.items():
        key = sibling_key(tape.zip_key, suffix) if suffix else tape.zip_key
        guest.save(key, ContentFile(f"{field} of {tape.slug}".encode()))
        setattr(tape, field, key)
    tape.save()
    return tape


def test_an_owned_tape_at_rest_moves_with_every_file(
    user: User, django_capture_on_commit_callbacks: Any
) -> None:
    tape = guest_tape_with_files()
    old = {field: getattr(tape, field) for field in SUFFIXES}
    Tape.objects.filter(pk=tape.pk).update(user=user)
    assert list(services.tapes_relocation_pending()) == [tape]
    with django_capture_on_commit_callbacks(execute=True):
        assert services.tape_relocate(tape_id=tape.pk) is services.Relocated.MOVED
    tape.refresh_from_db()
    assert tape.bucket == settings.TAPES_USER_BUCKET
    guest, home = storage_for(settings.TAPES_GUEST_BUCKET), storage_for(tape.bucket)
    for field in SUFFIXES:
        key = getattr(tape, field)
        assert key.startswith(f"users/{user.pk}/{tape.slug}")
        assert home.open(key).read() == f"{field} of {tape.slug}".encode()
        # Links handed out before the move still work: the originals stay for now.
        assert guest.exists(old[field])
    assert not services.tapes_relocation_pending().exists()
    relocation = TapeRelocation.objects.get(tape=tape)
    assert relocation.state == RelocationState.MOVED
    assert set(relocation.old_keys) == set(old.values())
    assert services.tape_relocate(tape_id=tape.pk) is services.Relocated.HOME

    # Within the grace nothing goes; after it, the originals do, once.
    assert services.tape_relocation_originals_delete() == []
    later = timezone.now() + originals_grace() + timedelta(seconds=1)
    assert services.tape_relocation_originals_delete(now=later) == [tape.pk]
    assert not any(guest.exists(key) for key in old.values())
    assert services.tape_relocation_originals_delete(now=later) == []
    assert all(home.exists(getattr(tape, field)) for field in SUFFIXES)


def test_a_tape_still_encoding_or_a_guests_stays(user: User) -> None:
    busy = guest_tape_with_files(TapeStatus.PROCESSING)
    Tape.objects.filter(pk=busy.pk).update(user=user)
    assert services.tape_relocate(tape_id=busy.pk) is services.Relocated.WAITING
    guests = guest_tape_with_files()
    assert services.tape_relocate(tape_id=guests.pk) is services.Relocated.WAITING
    for tape in (busy, guests):
        tape.refresh_from_db()
        assert tape.bucket == settings.TAPES_GUEST_BUCKET
        assert storage_for(tape.bucket).exists(tape.zip_key)


def test_a_failed_move_changes_nothing_is_counted_and_ends_visible(
    user: User, settings: Any
) -> None:
    settings.TAPES_MAX_ATTEMPTS = 3
    tape = guest_tape_with_files()
    mp4 = tape.mp4_key
    storage_for(tape.bucket).delete(mp4)
    Tape.objects.filter(pk=tape.pk).update(user=user)
    assert services.tape_relocate(tape_id=tape.pk) is services.Relocated.RETRY
    # The job raises so RQ retries it after its back-off.
    with pytest.raises(services.RetryLater):
        jobs.relocate_tape(tape.pk)
    assert jobs.relocate_tape(tape.pk) == "failed"  # the last attempt: the job ends
    tape.refresh_from_db()
    assert tape.bucket == settings.TAPES_GUEST_BUCKET
    assert storage_for(tape.bucket).exists(tape.zip_key)
    relocation = TapeRelocation.objects.get(tape=tape)
    assert (relocation.state, relocation.attempts) == (RelocationState.FAILED, 3)
    assert relocation.failure_code and mp4 in relocation.failure_message
    # Given up: reconcile leaves it to staff, whose retry starts over.
    assert not services.tapes_relocation_pending().exists()
    storage_for(tape.bucket).save(mp4, ContentFile(b"found again"))
    services.tape_relocation_retry(tape=tape)
    relocation.refresh_from_db()
    assert (relocation.state, relocation.attempts, relocation.failure_code) == (
        RelocationState.PENDING,
        0,
        "",
    )
    assert jobs.relocate_tape(tape.pk) == "moved"


def test_reconcile_queues_a_move_that_was_lost(
    user: User, django_capture_on_commit_callbacks: Any
) -> None:
    tape = guest_tape_with_files()
    Tape.objects.filter(pk=tape.pk).update(user=user)  # claimed, but its job never made it
    report = services.tapes_reconcile()
    assert report.relocations_queued == [tape.pk]
    assert queueing.job_state(RELOCATE, tape.pk) == "live"
    assert services.tapes_reconcile().relocations_queued == []  # queued once
    assert jobs.relocate_tape(tape.pk) == "moved"


def test_deleting_the_owner_also_deletes_originals_still_waiting(user: User) -> None:
    tape = guest_tape_with_files()
    old = [getattr(tape, field) for field in SUFFIXES]
    Tape.objects.filter(pk=tape.pk).update(user=user)
    assert services.tape_relocate(tape_id=tape.pk) is services.Relocated.MOVED
    guest = storage_for(settings.TAPES_GUEST_BUCKET)
    assert all(guest.exists(key) for key in old)
    assert services.tapes_delete_for_user(user=user) == 1
    assert not any(guest.exists(key) for key in old)
    assert not TapeRelocation.objects.exists()
