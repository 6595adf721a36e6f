"""The encode job's first step, on real storage: the ZIP leaves the form-writable upload key for
the tape's own, checked, before anything of it is read or served (posting no longer waits on
storage for it)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.base import ContentFile

from tapes import services
from tapes.models import Tape, TapeStatus, TapeUpload
from tapes.storage import storage_for, zip_key
from tapesite.errors import TapesiteError
from tests.support import synth
from tests.tapes.factories import TapeUploadFactory, post

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def tape_bytes(tmp_path: Path) -> bytes:
    path = tmp_path / "t.zip"
    synth.make_tape(path, frames=4, width=16, height=12, scale=1, seed=5)
    return path.read_bytes()


def test_take_names_the_copy_with_its_real_size(tape_bytes: bytes) -> None:
    slot = TapeUploadFactory.create(content=tape_bytes, declared_bytes=len(tape_bytes) + 500)
    tape = post(slot)
    assert (tape.zip_key, tape.zip_bytes) == ("", len(tape_bytes) + 500)
    taken = services.tape_zip_take(tape=tape)
    assert taken.zip_key == zip_key(user_id=None, slug=slot.slug)
    assert taken.zip_key != slot.key and not taken.zip_key.startswith("uploads/")
    assert taken.zip_bytes == len(tape_bytes)
    with storage_for(taken.bucket).open(taken.zip_key, "rb") as copy:
        assert copy.read() == tape_bytes


def test_a_replayed_form_after_the_take_changes_nothing_served(tape_bytes: bytes) -> None:
    slot = TapeUploadFactory.create(content=tape_bytes)
    done = services.tape_encode(tape_id=post(slot).pk)
    assert done is not None and done.status == TapeStatus.READY
    storage = storage_for(slot.bucket)
    # The form is replayed (it is valid until it expires): only the upload key changes.
    storage.save(slot.key, ContentFile(b"PK\x03\x04 something else"))
    again = services.tape_zip_take(tape=Tape.objects.get(pk=done.pk))
    assert (again.zip_key, again.zip_bytes) == (done.zip_key, len(tape_bytes))
    with storage.open(done.zip_key, "rb") as copy:
        assert copy.read() == tape_bytes
    # Encoding it again reads the tape's copy, not the upload key.
    Tape.objects.filter(pk=done.pk).update(status=TapeStatus.QUEUED)
    redone = services.tape_encode(tape_id=done.pk)
    assert redone is not None and redone.status == TapeStatus.READY


def test_a_post_whose_zip_never_arrived_fails_visibly_and_keeps_its_slot() -> None:
    slot = TapeUploadFactory.create()  # nothing in storage
    done = services.tape_encode(tape_id=post(slot).pk)
    assert done is not None
    assert (done.status, done.failure_code, done.zip_key) == (
        TapeStatus.FAILED,
        "upload_missing",
        "",
    )
    assert done.failure_message
    # Nothing is served for it and its slot stays with it.
    assert TapeUpload.objects.get(pk=slot.pk).tape_id == done.pk


def test_an_oversized_upload_is_refused_and_its_copy_removed(tape_bytes: bytes) -> None:
    slot = TapeUploadFactory.create(content=tape_bytes, max_bytes=len(tape_bytes) - 1)
    done = services.tape_encode(tape_id=post(slot).pk)
    assert done is not None
    assert (done.status, done.failure_code) == (TapeStatus.FAILED, "upload_too_large")
    assert not storage_for(slot.bucket).exists(zip_key(user_id=None, slug=slot.slug))


def test_a_tape_without_its_slot_cannot_be_taken() -> None:
    tape = post(TapeUploadFactory.create())
    TapeUpload.objects.filter(tape=tape).delete()
    with pytest.raises(TapesiteError) as caught:
        services.tape_zip_take(tape=tape)
    assert caught.value.code == "upload_missing"
