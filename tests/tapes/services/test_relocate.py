"""Relocation of a claimed guest tape's files to its owner's place (local storage here; the
SeaweedFS path is in tests/accounts/test_claims.py)."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.core.files.base import ContentFile

from accounts.models import User
from tapes import services
from tapes.models import Tape, TapeStatus
from tapes.storage import sibling_key, storage_for
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
        assert services.tape_relocate(tape_id=tape.pk) is True
    tape.refresh_from_db()
    assert tape.bucket == settings.TAPES_USER_BUCKET
    guest, home = storage_for(settings.TAPES_GUEST_BUCKET), storage_for(tape.bucket)
    for field in SUFFIXES:
        key = getattr(tape, field)
        assert key.startswith(f"users/{user.pk}/{tape.slug}")
        assert home.open(key).read() == f"{field} of {tape.slug}".encode()
        assert not guest.exists(old[field])
    assert not services.tapes_relocation_pending().exists()
    assert services.tape_relocate(tape_id=tape.pk) is True  # already home: nothing to do


def test_a_tape_still_encoding_or_a_guests_stays(user: User) -> None:
    busy = guest_tape_with_files(TapeStatus.PROCESSING)
    Tape.objects.filter(pk=busy.pk).update(user=user)
    assert services.tape_relocate(tape_id=busy.pk) is False
    guests = guest_tape_with_files()
    assert services.tape_relocate(tape_id=guests.pk) is False
    for tape in (busy, guests):
        tape.refresh_from_db()
        assert tape.bucket == settings.TAPES_GUEST_BUCKET
        assert storage_for(tape.bucket).exists(tape.zip_key)


def test_a_missing_source_file_changes_nothing(user: User) -> None:
    tape = guest_tape_with_files()
    storage_for(tape.bucket).delete(tape.mp4_key)
    Tape.objects.filter(pk=tape.pk).update(user=user)
    assert services.tape_relocate(tape_id=tape.pk) is False
    tape.refresh_from_db()
    assert tape.bucket == settings.TAPES_GUEST_BUCKET
    assert storage_for(tape.bucket).exists(tape.zip_key)
