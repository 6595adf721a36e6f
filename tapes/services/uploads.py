"""Upload slots: reserving a slug and its storage key, receiving a ZIP on local storage, finding
the slot a post names, and sweeping slots nobody posted."""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files import File
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from sites.models import Site
from tapes import codes
from tapes.models import Tape, TapeUpload
from tapes.services.quotas import (
    poster_for,
    quota_check,
    quota_lock,
    site_quota_check,
    site_quota_lock,
    usage_of,
)
from tapes.services.status import owner_id
from tapes.storage import (
    LocalPolicy,
    UploadForm,
    bucket_for,
    read_policy,
    storage_copy,
    storage_for,
    upload_form,
    upload_key,
    upload_too_large,
    zip_key,
)
from tapesite.errors import TapesiteError

logger = logging.getLogger(__name__)

_SLUG_TRIES = 5


@dataclass(frozen=True)
class UploadTicket:
    upload: TapeUpload
    form: UploadForm
    # The secret that proves the slot is yours when posting; shown once, only its hash is kept.
    token: str


def upload_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def upload_not_found() -> TapesiteError:
    """The one answer for a slot the caller does not hold, whether it exists or not: which slugs
    exist, and whose they are, is nobody else's business."""
    return TapesiteError(
        "upload_not_found",
        "No upload with this slug and upload token is waiting for you; "
        "start one at /api/tapes/uploads.",
        status=404,
    )


def slot_owner(*, user: User | None, site: Site | None) -> User | None:
    """Whose a post is: the signed-in user's, or for a guest on a site that names a guest
    owner, that account's (in its bucket, on its page); otherwise the guest's own."""
    if owner_id(user):
        return user
    if site is not None and site.guest_owner_id is not None:
        return site.guest_owner
    return None


def tape_upload_start(
    *,
    user: User | None,
    piece: str | None,
    size: int,
    base_url: str,
    client: str = "",
    site: Site | None = None,
) -> UploadTicket:
    """Reserve a slug and its storage key, and sign an upload policy for exactly that key and at
    most the declared size. ``client`` (a guest's address, from
    ``tapesite.throttling.client_address``) counts toward the open-slot cap and the guests'
    posting quota; the declared size counts toward the quota until the slot is posted or its
    form expires. ``site``: the registered site whose page asks (sites.cors.request_site); its
    own quota is checked too, and a guest there posts as its guest owner, if it has one."""
    max_bytes = int(settings.TAPES_UPLOAD_MAX_BYTES)
    if size > max_bytes:
        raise upload_too_large(max_bytes=max_bytes, size=size)
    user_id = owner_id(slot_owner(user=user, site=site))
    # The poster is who is at the keyboard: a guest on a site with a guest owner is still
    # counted as a guest at their address, not against the owner's allowance.
    poster = poster_for(user=user if owner_id(user) else None, client=(client or "")[:64])
    bucket = bucket_for(user_id=user_id)
    now = timezone.now()
    token = secrets.token_urlsafe(32)
    if transaction.get_connection().in_atomic_block:
        # Inside a caller's transaction other requests cannot see the slot before it commits:
        # the locks order them instead (the site's first, everywhere).
        if site is not None:
            site_quota_lock(site)
        quota_lock(poster)
    # Inserted first and counted after (each with its own commit), so of two racing starts on
    # any nodes the later one always counts the earlier: neither limit is passed.
    upload = _reserve(
        user_id=user_id,
        piece=piece,
        size=size,
        bucket=bucket,
        client=poster.client,
        now=now,
        token=token,
        site=site,
    )
    try:
        usage = usage_of(poster=poster, upload_id=upload.pk, now=now)
        _check_open_slots(usage.open_slots)
        quota_check(poster=poster, usage=usage, size=size, now=now)
        if site is not None:
            site_quota_check(site=site, upload_id=upload.pk, size=size, now=now)
    except TapesiteError:
        TapeUpload.objects.filter(pk=upload.pk).delete()
        raise
    form = upload_form(bucket=bucket, key=upload.key, max_bytes=size, request_base_url=base_url)
    return UploadTicket(upload=upload, form=form, token=token)


def _reserve(
    *,
    user_id: int | None,
    piece: str | None,
    size: int,
    bucket: str,
    client: str,
    now: datetime,
    token: str,
    site: Site | None = None,
) -> TapeUpload:
    for attempt in range(_SLUG_TRIES):
        # Two posts of one piece in the same millisecond would share a slug: the unique
        # constraint catches it and the later one moves on by a millisecond.
        slug = codes.make_slug(piece, now + timedelta(milliseconds=attempt))
        upload = TapeUpload(
            user_id=user_id,
            slug=slug,
            bucket=bucket,
            key=upload_key(user_id=user_id, slug=slug),
            declared_bytes=size,
            # The declared size is the limit: a client cannot declare 1 byte and send 30 MiB.
            max_bytes=size,
            client=client,
            token_hash=upload_token_hash(token),
            expires_at=now + timedelta(seconds=int(settings.TAPES_UPLOAD_EXPIRES_SECONDS)),
            site=site,
        )
        # The database enforces the unique constraints; checking them first would only race.
        upload.full_clean(validate_unique=False, validate_constraints=False)
        if _insert(upload):
            return upload
    raise TapesiteError(
        "slug_taken", "Could not reserve a slug for this piece; try again.", status=409
    )


def _insert(upload: TapeUpload) -> bool:
    """Insert the slot; False if its slug is taken. A failed INSERT in autocommit harms nothing,
    so the savepoint (two more round trips) is only paid inside a caller's transaction."""
    try:
        if transaction.get_connection().in_atomic_block:
            with transaction.atomic():
                upload.save(force_insert=True)
        else:
            upload.save(force_insert=True)
    except IntegrityError:
        return False
    return True


def _check_open_slots(open_slots: int) -> None:
    """Refuse a new slot to a client holding too many that were never posted (this one
    included): upload slots are not free storage. Slots leave the count when posted or swept."""
    cap = int(settings.TAPES_UPLOAD_MAX_OPEN_PER_CLIENT)
    if cap > 0 and open_slots > cap:
        raise TapesiteError(
            "too_many_open_uploads",
            f"You have {cap} uploads that were never posted; post or wait for them to expire.",
            status=429,
            details={"max_open": cap},
        )


def tape_upload_local_policy(*, token: str) -> LocalPolicy:
    """The signed policy a local upload's URL carries, checked before its body is read: a
    forged or expired one is refused at once, and the declared size bounds what is read."""
    return read_policy(token)


def tape_upload_store_local(
    *,
    policy: LocalPolicy,
    form_policy: str | None,
    key: str | None,
    content_type: str | None,
    file: File | None,
) -> None:
    """Check a browser's upload form against its signed local policy and store the file: for
    local storage, what S3 itself enforces for a presigned POST. ``form_policy``: the policy
    field of the form, if it sent one; it must be the URL's."""
    if form_policy and read_policy(form_policy) != policy:
        raise TapesiteError(
            "upload_policy_invalid", "The form's policy is not the upload's.", status=403
        )
    if key != policy.key:
        raise TapesiteError(
            "upload_policy_invalid", "The policy does not allow writing this key.", status=403
        )
    if content_type != policy.content_type:
        raise TapesiteError(
            "upload_type_invalid",
            f"The upload's Content-Type must be {policy.content_type}.",
            status=403,
        )
    if file is None or not file.size:
        raise TapesiteError("upload_file_missing", "The form has no non-empty 'file' part.")
    if file.size > policy.max_bytes:
        raise upload_too_large(max_bytes=policy.max_bytes, size=file.size)
    storage_for(policy.bucket).save(policy.key, file)


def tape_upload_find(*, user_id: int | None, slug: str, upload_token: str) -> TapeUpload:
    """The slot ``slug`` names, if the caller holds it: the same owner (a guest only finds guest
    slots) and its upload token. Every other case gets the same answer."""
    if codes.parse_slug(slug) is None:
        raise TapesiteError(
            "slug_invalid",
            "A slug looks like 'piece-YYYY.MM.DD.HH.MM.SS.mmm' and comes from /api/tapes/uploads.",
        )
    slots = TapeUpload.objects.filter(slug=slug, token_hash=upload_token_hash(upload_token))
    slots = slots.filter(user_id=user_id) if user_id else slots.filter(user__isnull=True)
    upload = slots.exclude(token_hash="").first()
    if upload is None:
        raise upload_not_found()
    return upload


def tape_upload_take(*, upload: TapeUpload, target: str) -> int:
    """Copy the slot's ZIP to ``target``, a key no upload form can write, and return the size of
    the copy; refuses a missing, empty or oversized one. What is posted is the copy: replaying
    the form afterwards only rewrites the upload key, which nothing reads any more."""
    try:
        size = storage_copy(bucket=upload.bucket, source=upload.key, target=target)
    except FileNotFoundError:
        size = 0
    except Exception as exc:  # any backend error: boto, OSError
        logger.warning("storage unreachable copying %s: %s", upload.key, exc)
        raise TapesiteError(
            "storage_unavailable",
            "Storage could not be reached; your upload is safe, try posting again.",
            status=503,
            retryable=True,
            details={"detail": f"copying {upload.key}: {exc!r}"},
        ) from exc
    if size == 0:
        raise TapesiteError(
            "upload_missing",
            "The tape's ZIP has not arrived in storage; upload it first, then post.",
            details={"slug": upload.slug},
        )
    if size > upload.max_bytes:
        try:
            storage_for(upload.bucket).delete(target)
        except Exception:  # the refusal stands either way; the copy is swept with the slot
            logger.warning("could not delete the refused copy %s", target)
        raise upload_too_large(max_bytes=upload.max_bytes, size=size)
    return size


def tape_zip_take(*, tape: Tape) -> Tape:
    """The encode job's first step for a tape just posted: copy its slot's ZIP out of the
    form-writable upload key to the tape's own key, check it, and only then name it on the tape
    (``zip_key``, with the copy's real size). From here on only the copy is read or served, so a
    replayed upload form changes nothing published. Posting itself never waits on storage for
    this. Taking it again (a retried job that copied but crashed before recording it) copies
    the same upload over the same key. Raises ``upload_missing``, ``upload_too_large`` (both
    final: the poster's to fix) or a retryable ``storage_unavailable``."""
    if tape.zip_key:
        return tape
    upload = TapeUpload.objects.filter(tape=tape).first()
    if upload is None or upload.bucket != tape.bucket:
        # Its slot was swept, or the tape moved buckets, before anything was taken.
        raise TapesiteError(
            "upload_missing",
            "The tape's ZIP is no longer waiting in storage; post it again.",
            details={"slug": tape.slug},
        )
    target = zip_key(user_id=upload.user_id, slug=upload.slug)
    size = tape_upload_take(upload=upload, target=target)
    # Conditional: of two jobs racing on one tape, the ZIP is named once.
    Tape.objects.filter(pk=tape.pk, zip_key="").update(
        zip_key=target, zip_bytes=size, updated_at=timezone.now()
    )
    tape.refresh_from_db()
    return tape


def tape_uploads_sweep(*, now: datetime | None = None) -> int:
    """Delete upload slots, and their upload objects, that are done with:

    - never posted, TAPES_UPLOAD_ABANDONED_AFTER_SECONDS (an hour) after they were started:
      storage for tapes nobody posted is not kept;
    - posted, once their form has expired and the encode job has taken the ZIP: the tape's ZIP
      is its own copy, so the upload object is only a leftover (and a replayed form can no
      longer write it). Until then (a queue outage can outlast the form; a tape that failed or
      was nuked first may be retried or restored) the upload key is the only copy and stays.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=int(settings.TAPES_UPLOAD_ABANDONED_AFTER_SECONDS))
    abandoned = TapeUpload.objects.filter(tape__isnull=True, created_at__lt=cutoff)
    done = (
        TapeUpload.objects.filter(tape__isnull=False)
        .exclude(tape__zip_key="")
        .select_related("tape")
    )
    swept = 0
    for upload in [
        *abandoned.filter(expires_at__lt=now)[:500],
        *done.filter(expires_at__lt=now)[:500],
    ]:
        # Slots from before posted ZIPs were copied share their key with the tape: keep it.
        if upload.tape is None or upload.tape.zip_key != upload.key:
            try:
                storage_for(upload.bucket).delete(upload.key)
            except Exception as exc:  # storage down: keep the row so a later sweep retries
                logger.warning("could not delete upload %s: %s", upload.key, exc)
                continue
        # Conditional: a post that claimed an abandoned slot meanwhile keeps it.
        rows = TapeUpload.objects.filter(pk=upload.pk)
        if upload.tape_id is None:
            rows = rows.filter(tape__isnull=True)
        swept += rows.delete()[0]
    return swept
