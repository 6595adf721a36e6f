"""Posting: an uploaded ZIP becomes a tape with a fresh short code, once however often it is
asked (a client whose answer was lost asks again); and a user's tapes deleted with them."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from sites.models import Site
from tapes import codes, events
from tapes.files import tape_stored_files
from tapes.models import Tape, TapeRelocation, TapeStatus, TapeUpload
from tapes.services.claims import claim_token_issue, claim_token_reissue
from tapes.services.encoding import tape_enqueue_encode
from tapes.services.quotas import (
    poster_for,
    quota_check,
    quota_lock,
    site_quota_check,
    site_quota_lock,
    usage_of,
)
from tapes.services.status import TapeState, owner_id, tape_log_change
from tapes.services.uploads import slot_owner, tape_upload_find
from tapes.storage import storage_for
from tapesite.errors import TapesiteError

logger = logging.getLogger(__name__)


def _violated_constraint(exc: IntegrityError) -> str:
    """The name (PostgreSQL) or column list (SQLite) of the constraint an insert broke."""
    diag = getattr(exc.__cause__, "diag", None)
    name = getattr(diag, "constraint_name", None)
    return name or str(exc)


def _insert_with_fresh_code(tape: Tape) -> None:
    """Insert ``tape`` under a random code that no other tape has, growing the length when the
    space is crowded. Race-free: the unique constraint decides; a conflict just draws again."""
    alphabet: str = settings.TAPES_CODE_ALPHABET
    tries: int = settings.TAPES_CODE_ATTEMPTS_PER_LENGTH
    for length in range(settings.TAPES_CODE_MIN_LENGTH, settings.TAPES_CODE_MAX_LENGTH + 1):
        for _ in range(tries):
            tape.code = codes.random_code(alphabet, length)
            try:
                with transaction.atomic():
                    tape.save(force_insert=True)
                return
            except IntegrityError as exc:
                if "code" not in _violated_constraint(exc):
                    raise
    raise TapesiteError("code_space_exhausted", "No free short code could be found.", status=503)


def _slug_taken(slug: str) -> TapesiteError:
    return TapesiteError(
        "slug_taken", "This slug is already posted.", status=409, details={"slug": slug}
    )


@dataclass(frozen=True)
class TapePosted:
    tape: Tape
    # False: the slot had been posted already and this is the same tape, answered again.
    created: bool
    # A guest's claim token (shown once); None for a user's tape or one already claimed.
    claim_token: str | None


def tape_post(
    *,
    user: User | None,
    slug: str,
    upload_token: str,
    metadata: dict[str, Any] | None = None,
    site: Site | None = None,
    piece_url: str = "",
    source: str = "",
    seed: str = "",
) -> TapePosted:
    """Register the slot's uploaded ZIP as a tape with a fresh short code, queue its encoding and,
    for a guest, issue its claim token. Only the holder of the slot (its owner, with its upload
    token) can post it. The slot's holder asking again for a slot already posted gets
    the same tape back, not an error: a client whose request timed out, was cancelled or lost
    its answer cannot know whether it landed, and retrying must never cost the tape (nor post
    it twice). A guest then gets a new claim token, as the first may never have arrived."""
    user_id = owner_id(slot_owner(user=user, site=site))
    upload = tape_upload_find(user_id=user_id, slug=slug, upload_token=upload_token)
    if upload.tape_id is not None:
        # Only the slot's holder gets here; a tape since deleted or nuked is not answered again.
        again = Tape.objects.visible().filter(pk=upload.tape_id).first()
        if again is None:
            raise _slug_taken(slug)
        return TapePosted(tape=again, created=False, claim_token=claim_token_reissue(tape=again))
    tape = _tape_from_slot(
        upload=upload,
        user=user,
        user_id=user_id,
        slug=slug,
        metadata=metadata,
        site=site,
        provenance=(piece_url, source, seed),
    )
    token = claim_token_issue(tape=tape) if tape.user_id is None else None
    return TapePosted(tape=tape, created=True, claim_token=token)


def _tape_from_slot(
    *,
    upload: TapeUpload,
    user: User | None,
    user_id: int | None,
    slug: str,
    metadata: dict[str, Any] | None,
    site: Site | None,
    provenance: tuple[str, str, str],
) -> Tape:
    """Register the uploaded ZIP of ``upload`` (held by the caller) as a tape with a fresh short
    code, and queue its encoding.

    ``site``: the registered site whose page posts (from the request's Origin, never from the
    body): the tape names it, its quota is checked as well as the poster's, and a guest there
    posts as its guest owner if it has one. ``provenance``: the piece's URL, source and seed the
    page gave (optional)."""
    piece_url, source, seed = provenance
    # No storage call here: the encode job takes the ZIP out of the form-writable key
    # (tape_zip_take), so posting costs database work only. Until then the tape names no ZIP and
    # nothing of the upload is served. The declared size, which the upload form enforces as
    # its limit, stands in for the ZIP's in the quotas until the job knows the real one.
    size = upload.declared_bytes
    parsed = codes.parse_slug(slug)
    assert parsed is not None  # tape_upload_find validated it
    now = timezone.now()
    # The slot's client is who reserved it (a guest's address, checked when it was started).
    poster = poster_for(user=user if owner_id(user) else None, client=upload.client)
    tape = Tape(
        slug=slug,
        user_id=user_id,
        poster=poster.key,
        when=now,
        bucket=upload.bucket,
        piece=parsed[0],
        metadata=metadata or {},
        zip_key="",
        zip_bytes=size,
        status=TapeStatus.UPLOADED,
        status_changed_at=now,
        site=site,
        origin=site.origin if site is not None else "",
        piece_url=(piece_url or "").strip(),
        source=(source or "").strip(),
        seed=(seed or "").strip(),
    )
    tape.code = "-"  # placeholder so full_clean can run; the real one is drawn at insert
    tape.full_clean(validate_unique=False, validate_constraints=False)
    with transaction.atomic():
        # Again at the door that makes it a tape, with the size stored: a slot whose form
        # expired stopped counting, and others may have taken its room since. The site's
        # lock before the poster's, as everywhere.
        if site is not None:
            site_quota_lock(site)
            site_quota_check(site=site, upload_id=upload.pk, size=size, now=now)
        if poster.limited:
            quota_lock(poster)
            usage = usage_of(poster=poster, upload_id=upload.pk, now=now)
            quota_check(poster=poster, usage=usage, size=size, now=now)
        _register(tape, upload=upload, slug=slug, now=now)
    return tape


def _register(tape: Tape, *, upload: TapeUpload, slug: str, now: datetime) -> None:
    """Insert the tape and give it the slot, in the caller's transaction; queue its encoding
    after the commit."""
    try:
        _insert_with_fresh_code(tape)
    except IntegrityError as exc:
        raise _slug_taken(slug) from exc
    # Only this request may claim the slot: a concurrent post of the same slug loses here.
    if not TapeUpload.objects.filter(pk=upload.pk, tape__isnull=True).update(tape=tape):
        raise _slug_taken(slug)
    known = TapeState(code=tape.code, status=TapeStatus.UPLOADED, since=now)
    # Logged before the enqueue's own line ("uploaded -> queued"), both after commit.
    tape_log_change(tape=tape, from_state="new", to_state=TapeStatus.UPLOADED, since=None)

    def enqueue() -> None:
        if tape_enqueue_encode(tape_id=tape.pk, known=known):
            # What the caller answers with; a worker may already be further along.
            tape.status = TapeStatus.QUEUED

    transaction.on_commit(enqueue)


def tapes_delete_for_user(*, user: User) -> int:
    """What deleting a user does to their tapes: the tapes, their upload slots and every file
    in storage go (the user bucket keeps a user's files under ``users/<id>/``). Records on the
    user's own PDS are theirs and stay. Call it before deleting the user; the database then
    cascades anything left. Returns how many tapes went."""
    keys_by_bucket: dict[str, set[str]] = {}
    tapes = list(Tape.objects.filter(user=user))
    for tape in tapes:
        keys = {key for _, key in tape_stored_files(tape)}
        keys_by_bucket.setdefault(tape.bucket, set()).update(keys)
    for upload in TapeUpload.objects.filter(user=user):
        keys_by_bucket.setdefault(upload.bucket, set()).add(upload.key)
    # Claimed tapes that moved keep their originals in the guest bucket for a while.
    moved = TapeRelocation.objects.filter(tape__user=user, originals_deleted_at__isnull=True)
    for old_bucket, old_keys in moved.exclude(old_bucket="").values_list("old_bucket", "old_keys"):
        keys_by_bucket.setdefault(old_bucket, set()).update(old_keys)
    for bucket, keys in keys_by_bucket.items():
        storage = storage_for(bucket)
        for key in sorted(keys):
            storage.delete(key)  # raises while storage is down: nothing is deleted half-way
    with transaction.atomic():
        events.tapes_deleting.send(sender=Tape, tape_ids=[tape.pk for tape in tapes])
        TapeUpload.objects.filter(user=user).delete()
        Tape.objects.filter(user=user).delete()
    return len(tapes)
