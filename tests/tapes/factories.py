"""factory_boy factories for the tapes app's test data: upload slots and tapes.

Rows only, as a test needs them; ``post`` goes through the real posting service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import factory
from django.conf import settings
from django.core.files.base import ContentFile
from django.utils import timezone
from factory.django import DjangoModelFactory

from accounts.models import User
from tapes import codes, services
from tapes.models import Tape, TapeStatus, TapeUpload
from tapes.services.uploads import upload_token_hash
from tapes.storage import bucket_for, sibling_key, storage_for, upload_key, zip_key

#: Every slot a factory makes is posted with this token.
UPLOAD_TOKEN = "test-upload-token"
# Slugs count milliseconds from a fixed moment, one per factory, so every row has its own (a tape
# made here has no slot, and must not take the slug of one that a test will post).
_UPLOADS_FROM = datetime(2025, 10, 17, 12, 30, tzinfo=UTC)
_TAPES_FROM = datetime(2024, 10, 17, 12, 30, tzinfo=UTC)


def _slug(piece: str, start: datetime, n: int) -> str:
    return codes.make_slug(piece, start + timedelta(milliseconds=n))


def _owner(obj: Any) -> int | None:
    return obj.user.pk if obj.user is not None else None


class TapeUploadFactory(DjangoModelFactory[TapeUpload]):
    """An upload slot. ``TapeUploadFactory.create(content=b"...")`` also puts its ZIP in storage, as
    after the browser's upload."""

    class Meta:
        model = TapeUpload
        skip_postgeneration_save = True

    class Params:
        piece = "line"

    user: User | None = None
    slug = factory.LazyAttributeSequence(lambda o, n: _slug(o.piece, _UPLOADS_FROM, n))
    bucket = factory.LazyAttribute(lambda o: bucket_for(user_id=_owner(o)))
    key = factory.LazyAttribute(lambda o: upload_key(user_id=_owner(o), slug=o.slug))
    declared_bytes = 1000
    max_bytes = factory.LazyFunction(lambda: int(settings.TAPES_UPLOAD_MAX_BYTES))
    token_hash = factory.LazyFunction(lambda: upload_token_hash(UPLOAD_TOKEN))
    expires_at = factory.LazyFunction(
        lambda: timezone.now() + timedelta(seconds=int(settings.TAPES_UPLOAD_EXPIRES_SECONDS))
    )

    @factory.post_generation
    def content(obj: TapeUpload, create: bool, extracted: bytes | None, **kwargs: Any) -> None:
        if create and extracted is not None:
            storage_for(obj.bucket).save(obj.key, ContentFile(extracted))


class TapeFactory(DjangoModelFactory[Tape]):
    """A tape row as posting leaves it (``uploaded``), without an upload slot or files."""

    class Meta:
        model = Tape

    code = factory.Sequence(lambda n: f"t{n}")
    piece = "line"
    slug = factory.LazyAttributeSequence(lambda o, n: _slug(o.piece, _TAPES_FROM, n))
    user: User | None = None
    when = factory.LazyFunction(timezone.now)
    bucket = factory.LazyAttribute(lambda o: bucket_for(user_id=_owner(o)))
    zip_key = factory.LazyAttribute(lambda o: zip_key(user_id=_owner(o), slug=o.slug))
    status = TapeStatus.UPLOADED
    status_changed_at = factory.LazyFunction(timezone.now)


def post(upload: TapeUpload, *, user: User | None = None) -> Tape:
    """Post a factory slot through the real service, as the client that started it."""
    return services.tape_post(user=user, slug=upload.slug, upload_token=UPLOAD_TOKEN).tape


class ReadyTapeFactory(TapeFactory):
    """A tape as a finished encode leaves it: ``ready``, its four files named (not stored).
    ``failed=True`` makes it a failed one; ``nuke=DAYS`` nukes it that many days ago."""

    class Meta:
        skip_postgeneration_save = True

    status = TapeStatus.READY
    progress = 100
    mp4_key = factory.LazyAttribute(lambda o: sibling_key(o.zip_key, ".mp4"))
    thumbnail_key = factory.LazyAttribute(lambda o: sibling_key(o.zip_key, "-thumb.webp"))
    preview_key = factory.LazyAttribute(lambda o: sibling_key(o.zip_key, "-preview.webp"))
    zip_bytes = 1000
    mp4_bytes = 2000
    thumbnail_bytes = 300
    preview_bytes = 400
    frames = 12
    duration_ms = 1200
    width = 40
    height = 24
    scale = 3

    class Params:
        failed = factory.Trait(
            status=TapeStatus.FAILED,
            failure_code="archive_not_zip",
            failure_message="The file is not a ZIP archive.",
            attempts=1,
            mp4_key="",
            thumbnail_key="",
            preview_key="",
        )

    @factory.post_generation
    def nuke(obj: Tape, create: bool, extracted: Any, **kwargs: Any) -> None:
        if extracted is None:
            return
        obj.nuked = True
        obj.nuked_at = timezone.now() - timedelta(days=float(extracted))
        if create:
            obj.save(update_fields=["nuked", "nuked_at"])
