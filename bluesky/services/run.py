"""The posting job's work: bring a tape's Bluesky post on its owner's PDS in line with what the
owner asked for (write it once, or delete it).

Exactly once, as federation's records: the post's rkey (a TID) is chosen and committed before
createRecord, so a retry after a crash finds the post it already wrote (getRecord by that rkey)
and keeps it instead of writing a second one. Posts that must go (a deleted, nuked or unlisted
tape, a post the owner took back) are listed in ``stale_rkeys`` and deleted first, retried until
the PDS confirms; a row with nothing left to post or delete goes, so the tape can be posted
afresh later. The video comes from Bluesky's video service; when that refuses the video or
cannot be reached, the post is a link card instead and keeps the reason (``code``) for the tape
page and /me. Transient failures are retried with back-off; permanent ones leave ``failed``.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bluesky import queueing
from bluesky.errors import BlueskyFailure, public_message
from bluesky.models import BlueskyEmbed, BlueskyPost, BlueskyPostState
from bluesky.records import (
    CARD_THUMB_MAX_BYTES,
    CARD_THUMB_TYPES,
    COLLECTION,
    embed_kind,
    external_embed,
    post_record,
    video_embed,
)
from bluesky.services.common import Outcome, owner_account, posted_tape, tape_postable, update
from bluesky.services.video import bluesky_video_blob
from federation.errors import FederationFailure
from federation.models import AtprotoAccount
from federation.services.federate import pds_retry_delay
from federation.services.sessions import AccountAuthFailed, PdsSession, with_session
from federation.tid import new_tid
from federation.xrpc import XrpcError
from tapes.models import Tape
from tapes.storage import storage_for

logger = logging.getLogger(__name__)

# A run that records an outcome was not stuck: reconcile's count of requeues starts again.
_RAN: dict[str, Any] = {"requeues": 0, "requeue_after": None}


def _prepare(tape_id: int) -> tuple[BlueskyPost, AtprotoAccount | None, bool] | None:
    """Lock, decide, and commit the rkey (and the attempt count) before any network call."""
    with transaction.atomic():
        post = (
            BlueskyPost.objects.select_for_update()
            .select_related("tape")
            .filter(tape_id=tape_id)
            .first()
        )
        if post is None or post.state != BlueskyPostState.PENDING:
            return None
        tape = post.tape
        account = owner_account(tape)
        wanted = post.wanted and tape_postable(tape)
        if account is not None and post.did and post.did != account.did:
            # Relinked to another account: the old posts are out of reach; start afresh there.
            post.stale_rkeys = []
            post.rkey = post.uri = post.cid = ""
            post.video_blob = None
            post.video_job_id = ""
        if account is not None:
            post.did, post.pds_url = account.did, account.pds_url
        resumed = bool(post.rkey)
        if wanted and not post.rkey:
            post.rkey = new_tid()
        post.wanted = wanted
        post.attempts += 1
        post.save()
    return post, account, resumed


@transaction.atomic
def _forget_stale(post_id: int, rkey: str) -> None:
    # Under the row lock, from the list as it is now: a nuke meanwhile may have added one.
    current = BlueskyPost.objects.select_for_update().filter(pk=post_id).first()
    if current is not None and rkey in current.stale_rkeys:
        current.stale_rkeys = [key for key in current.stale_rkeys if key != rkey]
        current.save(update_fields=["stale_rkeys", "updated_at"])


def _read(tape: Tape, key: str) -> bytes:
    try:
        with storage_for(tape.bucket).open(key, "rb") as handle:
            return bytes(handle.read())
    except Exception as exc:  # storage down: transient
        raise FederationFailure(
            "storage_unavailable", f"Could not read {key}: {exc}", retryable=True
        ) from exc


def card_thumbnail(*, tape: Tape, session: PdsSession) -> dict[str, Any] | None:
    """The tape's thumbnail uploaded to the owner's PDS for a link card, or None when it has
    none the card can take (missing, of another type, over 1 MB): the card goes without."""
    mime = CARD_THUMB_TYPES.get(Path(tape.thumbnail_key).suffix.lower())
    if not tape.thumbnail_key or mime is None:
        return None
    if (tape.thumbnail_bytes or 0) > CARD_THUMB_MAX_BYTES:
        return None
    data = _read(tape, tape.thumbnail_key)
    return session.xrpc.upload_blob(data, mime, session.access_jwt)


def _embed(
    post: BlueskyPost, tape: Tape, session: PdsSession
) -> tuple[dict[str, Any], BlueskyFailure | None]:
    """The post's embed: the video once the video service has it, else a link card and why."""
    posted = posted_tape(tape)
    if post.video_blob:
        return video_embed(posted, post.video_blob), None
    try:
        blob = bluesky_video_blob(post=post, tape=tape, session=session)
    except BlueskyFailure as exc:
        if not exc.fallback:
            raise
        logger.info("tape %s: posting a link card (%s: %s)", tape.pk, exc.code, exc.message)
        return external_embed(posted, card_thumbnail(tape=tape, session=session)), exc
    # Saved by the video service's client too: a retry reuses it rather than uploading again.
    post.video_blob = blob
    return video_embed(posted, blob), None


def _written(post: BlueskyPost, found: dict[str, Any], **extra: Any) -> dict[str, Any]:
    value = found.get("value")
    kind = embed_kind(value) if isinstance(value, dict) else ""
    return {"uri": found["uri"], "cid": found["cid"], "embed": kind, **extra}


def _sync(post: BlueskyPost, tape: Tape, resumed: bool, session: PdsSession) -> dict[str, Any]:
    xrpc = session.xrpc
    for rkey in list(post.stale_rkeys):
        xrpc.delete_record(session.did, COLLECTION, rkey, session.access_jwt)
        post.stale_rkeys.remove(rkey)
        _forget_stale(post.pk, rkey)
    if not post.wanted:
        return {}
    if resumed:
        existing = xrpc.get_record(session.did, COLLECTION, post.rkey)
        if existing is not None:
            # Written by a run that stopped before saving it (the reason for a card, if any,
            # was saved before the write).
            return _written(post, existing, code=post.code, message=post.message)
    embed, fallback = _embed(post, tape, session)
    record = post_record(posted_tape(tape), embed=embed, created_at=timezone.now())
    code = fallback.code if fallback is not None else ""
    message = fallback.message[:2000] if fallback is not None else ""
    # Saved before the write: a run that crashes after it still knows why it is a card.
    update(post.pk, code=code, message=message)
    try:
        created = xrpc.create_record(session.did, COLLECTION, post.rkey, record, session.access_jwt)
    except XrpcError as exc:
        # Another run of this job got there first (the PDS answers a taken rkey with an error):
        # the post is ours, keep it.
        existing = (
            xrpc.get_record(session.did, COLLECTION, post.rkey) if exc.status is not None else None
        )
        if existing is None:
            if exc.error == "InvalidRecord":
                raise BlueskyFailure("bluesky_post_invalid", exc.message) from exc
            raise
        created = existing
    return {
        "uri": created["uri"],
        "cid": created["cid"],
        "embed": embed_kind(record),
        "code": code,
        "message": message,
    }


def bluesky_post_run(*, tape_id: int) -> Outcome:
    """Write the tape's post once, or delete what must go; the job's whole work."""
    prepared = _prepare(tape_id)
    if prepared is None:
        return Outcome("skipped")
    post, account, resumed = prepared
    tape = post.tape
    planned_stale = frozenset(post.stale_rkeys)
    if account is None:
        if post.wanted:
            code = "bluesky_not_linked"
            update(post.pk, state=BlueskyPostState.FAILED, code=code, message=public_message(code))
            return Outcome(BlueskyPostState.FAILED, code)
        # Unlinked before the delete went through: the posts are the account's now.
        BlueskyPost.objects.filter(pk=post.pk).delete()
        return Outcome("deleted")
    try:
        at = with_session(account_id=account.pk, action=lambda s: _sync(post, tape, resumed, s))
    except AccountAuthFailed as exc:
        return _failed(post, BlueskyFailure("pds_auth_failed", exc.error.message), planned_stale)
    except FederationFailure as exc:
        return _failed(post, exc, planned_stale)
    with transaction.atomic():
        rerun = _rerun_if_superseded(post, planned_stale)
        if rerun is not None:
            return rerun
        if not post.wanted:
            # Deleted everywhere: the row goes, so the tape can be posted afresh later.
            BlueskyPost.objects.filter(pk=post.pk).delete()
            logger.info("tape %s: Bluesky post deleted", tape.pk)
            return Outcome("deleted")
        embed = at["embed"] or (BlueskyEmbed.EXTERNAL if at["code"] else BlueskyEmbed.VIDEO)
        update(
            post.pk,
            state=BlueskyPostState.DONE,
            uri=at["uri"],
            cid=at["cid"],
            embed=embed,
            code=at["code"],
            message=at["message"],
            attempts=0,
            not_before=None,
            progress=100,
            posted_at=timezone.now(),
            **_RAN,
        )
        logger.info("tape %s posted to Bluesky as %s (%s)", tape.pk, at["uri"], embed)
        return Outcome(BlueskyPostState.DONE, at["code"])


def _rerun_if_superseded(post: BlueskyPost, planned_stale: frozenset[str]) -> Outcome | None:
    """Inside a transaction, before a run records its result: when the post was taken back,
    nuked or asked for again while the run talked to the PDS, what it wrote may no longer be
    wanted. Its rkey then joins the deletes and the job runs again on the row as it is now."""
    current = BlueskyPost.objects.select_for_update().filter(pk=post.pk).first()
    if current is None:
        return Outcome("deleted")
    changed = (
        post.wanted != current.wanted
        or (post.wanted and post.rkey != current.rkey)
        or bool(set(current.stale_rkeys) - planned_stale)
    )
    if not changed:
        return None
    if post.rkey and post.rkey != current.rkey and post.rkey not in current.stale_rkeys:
        current.stale_rkeys = [*current.stale_rkeys, post.rkey]
    current.state = BlueskyPostState.PENDING
    current.save(update_fields=["stale_rkeys", "state", "updated_at"])
    tape_id = post.tape_id
    transaction.on_commit(lambda: queueing.enqueue_post(tape_id, delay_seconds=1))
    logger.info("tape %s: its Bluesky post changed while posting; running again", tape_id)
    return Outcome(BlueskyPostState.PENDING, "superseded")


@transaction.atomic
def _failed(post: BlueskyPost, exc: FederationFailure, planned_stale: frozenset[str]) -> Outcome:
    rerun = _rerun_if_superseded(post, planned_stale)
    if rerun is not None:
        return rerun
    message = exc.message[:2000]
    limit = (
        settings.ATPROTO_FEDERATE_MAX_ATTEMPTS
        if post.wanted
        else settings.ATPROTO_DELETE_MAX_ATTEMPTS
    )
    if exc.retryable and post.attempts < int(limit):
        delay = pds_retry_delay(attempts=post.attempts, exc=exc)
        update(
            post.pk,
            state=BlueskyPostState.PENDING,
            code=exc.code,
            message=message,
            not_before=timezone.now() + timedelta(seconds=delay),
            **_RAN,
        )
        logger.warning("posting tape %s: %s; retry in %.0f s", post.tape_id, exc.code, delay)
        return Outcome(BlueskyPostState.PENDING, exc.code, retry_in=delay)
    code = exc.code if post.wanted else "bluesky_post_delete_failed"
    if not post.wanted:
        message = f"Gave up deleting the post after {post.attempts} attempts. {message}"[:2000]
    update(post.pk, state=BlueskyPostState.FAILED, code=code, message=message, **_RAN)
    logger.warning("posting tape %s failed: %s %s", post.tape_id, code, message)
    return Outcome(BlueskyPostState.FAILED, code)
