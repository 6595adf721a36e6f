"""Upload slots, called directly: reserving, receiving on local storage, finding and sweeping."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from tapes import codes, services
from tapes.models import TapeUpload
from tapes.services.uploads import upload_token_hash
from tapes.storage import storage_for
from tapesite.errors import TapesiteError
from tests.conftest import tiny_zip
from tests.tapes.factories import UPLOAD_TOKEN, TapeUploadFactory, post

pytestmark = pytest.mark.django_db


def test_start_reserves_a_slug_and_key_with_a_token(user: Any, settings: Any) -> None:
    ticket = services.tape_upload_start(
        user=user, piece="Line Art!", size=1234, base_url="http://testserver/"
    )
    upload = TapeUpload.objects.get(pk=ticket.upload.pk)
    parsed = codes.parse_slug(upload.slug)
    assert parsed is not None and parsed[0] == "line-art"
    assert upload.bucket == settings.TAPES_USER_BUCKET
    # Forms write only under uploads/; the declared size is the slot's limit.
    assert upload.key == f"uploads/users/{user.pk}/{upload.slug}.zip"
    assert (upload.declared_bytes, upload.max_bytes) == (1234, 1234)
    # only the token's hash is kept
    assert upload.token_hash == upload_token_hash(ticket.token) != ticket.token
    assert ticket.form.fields["key"] == upload.key


def test_start_refuses_more_than_the_limit(settings: Any) -> None:
    settings.TAPES_UPLOAD_MAX_BYTES = 100
    with pytest.raises(TapesiteError) as caught:
        services.tape_upload_start(user=None, piece="x", size=101, base_url="http://x/")
    assert caught.value.code == "upload_too_large"
    assert not TapeUpload.objects.exists()


def test_store_local_writes_the_policys_key() -> None:
    ticket = services.tape_upload_start(
        user=None, piece="x", size=len(tiny_zip()), base_url="http://x/"
    )
    fields = ticket.form.fields
    services.tape_upload_store_local(
        policy=services.tape_upload_local_policy(token=fields["policy"]),
        form_policy=fields["policy"],
        key=fields["key"],
        content_type=fields["Content-Type"],
        file=ContentFile(tiny_zip(), name="t.zip"),
    )
    with storage_for(ticket.upload.bucket).open(ticket.upload.key, "rb") as stored:
        assert stored.read() == tiny_zip()


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"key": "someone-else.zip"}, "upload_policy_invalid"),
        ({"content_type": "text/html"}, "upload_type_invalid"),
        ({"form_policy": "forged"}, "upload_policy_invalid"),
        ({"file": None}, "upload_file_missing"),
        ({"file": ContentFile(b"", name="t.zip")}, "upload_file_missing"),
    ],
)
def test_store_local_refuses_what_the_policy_does_not_allow(
    change: dict[str, Any], code: str
) -> None:
    ticket = services.tape_upload_start(user=None, piece="x", size=10, base_url="http://x/")
    fields = ticket.form.fields
    form: dict[str, Any] = {
        "policy": services.tape_upload_local_policy(token=fields["policy"]),
        "form_policy": fields["policy"],
        "key": fields["key"],
        "content_type": fields["Content-Type"],
        "file": ContentFile(tiny_zip(), name="t.zip"),
        **change,
    }
    with pytest.raises(TapesiteError) as caught:
        services.tape_upload_store_local(**form)
    assert caught.value.code == code
    assert not storage_for(ticket.upload.bucket).exists(ticket.upload.key)


def test_find_needs_a_well_formed_slug_and_the_token() -> None:
    slot = TapeUploadFactory.create()
    assert (
        services.tape_upload_find(user_id=None, slug=slot.slug, upload_token=UPLOAD_TOKEN) == slot
    )
    with pytest.raises(TapesiteError) as caught:
        services.tape_upload_find(user_id=None, slug="../x", upload_token=UPLOAD_TOKEN)
    assert caught.value.code == "slug_invalid"
    with pytest.raises(TapesiteError) as caught:
        services.tape_upload_find(user_id=None, slug=slot.slug, upload_token="other")
    assert (caught.value.code, caught.value.status) == ("upload_not_found", 404)


def test_take_copies_and_refuses_a_missing_or_oversized_zip() -> None:
    slot = TapeUploadFactory.create(max_bytes=len(tiny_zip()))
    target = slot.key.removeprefix("uploads/")
    storage = storage_for(slot.bucket)
    with pytest.raises(TapesiteError) as caught:
        services.tape_upload_take(upload=slot, target=target)
    assert caught.value.code == "upload_missing"
    storage.save(slot.key, ContentFile(tiny_zip()))
    assert services.tape_upload_take(upload=slot, target=target) == len(tiny_zip())
    with storage.open(target, "rb") as copy:
        assert copy.read() == tiny_zip()
    storage.save(slot.key, ContentFile(tiny_zip() + b"x"))
    with pytest.raises(TapesiteError) as caught:
        services.tape_upload_take(upload=slot, target=target + ".2")
    assert caught.value.code == "upload_too_large"
    assert not storage.exists(target + ".2")  # the refused copy does not stay


def test_abandoned_uploads_are_swept_and_posted_ones_kept(settings: Any) -> None:
    abandoned = TapeUploadFactory.create(content=tiny_zip())
    posted = TapeUploadFactory.create(content=tiny_zip())
    tape = services.tape_zip_take(tape=post(posted))
    # Posted but not taken yet (its job waits out a queue outage): the upload is the only copy.
    waiting = TapeUploadFactory.create(content=tiny_zip())
    post(waiting)
    fresh = TapeUploadFactory.create(content=tiny_zip())
    later = timezone.now() + timedelta(seconds=settings.TAPES_UPLOAD_ABANDONED_AFTER_SECONDS + 1)
    TapeUpload.objects.filter(pk=fresh.pk).update(created_at=later, expires_at=later)
    # The abandoned slot goes with its ZIP; the posted one's upload object goes too (its form
    # expired) but the tape's own copy stays; the fresh one stays.
    assert services.tape_uploads_sweep(now=later) == 2
    assert not TapeUpload.objects.filter(pk=abandoned.pk).exists()
    assert not storage_for(abandoned.bucket).exists(abandoned.key)
    assert not storage_for(posted.bucket).exists(posted.key)
    assert storage_for(tape.bucket).exists(tape.zip_key)
    assert TapeUpload.objects.filter(pk=fresh.pk).exists()
    assert storage_for(fresh.bucket).exists(fresh.key)
    assert TapeUpload.objects.filter(pk=waiting.pk).exists()
    assert storage_for(waiting.bucket).exists(waiting.key)
