"""The federate job's work: bring a tape's record on its owner's PDS in line with the tape.

The record key (a TID) is chosen and committed before createRecord, so a retry after a crash
finds the record it already wrote instead of writing a second one. Records that must go (a nuked
tape, the old record of an un-nuked one) are listed in ``stale_rkeys`` and deleted first, retried
until the PDS confirms. An edit of the tape's words puts the record again under the same rkey,
with the blobs it already has, once the row's ``revision`` is behind the tape's. Transient
failures (PDS down, 429) are retried with back-off; permanent ones leave ``failed`` with a code
the user sees and can retry.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from federation import queueing
from federation.backoff import backoff_delay
from federation.errors import CODES, FederationFailure
from federation.lexicon import RecordInvalid
from federation.models import AtprotoAccount, FederationState, TapeFederation
from federation.services.records import (
    COLLECTION,
    THUMBNAIL_TYPES,
    placeholder_blob,
    tape_lexicon,
    tape_record,
)
from federation.services.sessions import AccountAuthFailed, PdsSession, with_session
from federation.tid import new_tid
from federation.xrpc import XrpcError
from tapes.models import Tape, TapeStatus, TapeVisibility
from tapes.storage import storage_for

logger = logging.getLogger(__name__)


def _read(tape: Tape, key: str) -> bytes:
    try:
        with storage_for(tape.bucket).open(key, "rb") as handle:
            return bytes(handle.read())
    except Exception as exc:  # storage down: transient
        raise FederationFailure(
            "storage_unavailable", f"Could not read {key}: {exc}", retryable=True
        ) from exc


def _update(fed_id: int, **fields: Any) -> None:
    TapeFederation.objects.filter(pk=fed_id).update(updated_at=timezone.now(), **fields)


@transaction.atomic
def _forget_stale(fed_id: int, rkey: str) -> None:
    # Under the row lock, from the list as it is now: a nuke or un-nuke running meanwhile may
    # have added an rkey that this job's copy of the list does not hold.
    current = TapeFederation.objects.select_for_update().get(pk=fed_id)
    if rkey in current.stale_rkeys:
        current.stale_rkeys = [key for key in current.stale_rkeys if key != rkey]
        current.save(update_fields=["stale_rkeys", "updated_at"])


# A run that records an outcome was not stuck: reconcile's count of requeues starts again.
_RAN: dict[str, Any] = {"requeues": 0, "requeue_after": None}


@dataclass(frozen=True)
class Outcome:
    state: str
    code: str = ""
    retry_in: float | None = None


def _prepare(tape_id: int) -> tuple[TapeFederation, AtprotoAccount | None, bool] | None:
    """Lock, decide, and commit the rkey (and attempt count) before any network call."""
    with transaction.atomic():
        fed = (
            TapeFederation.objects.select_for_update()
            .select_related("tape")
            .filter(tape_id=tape_id)
            .first()
        )
        if fed is None:
            return None
        if fed.state not in (FederationState.PENDING, FederationState.FAILED):
            return None
        tape = fed.tape
        account = (
            AtprotoAccount.objects.filter(user_id=tape.user_id).first() if tape.user_id else None
        )
        wanted = (
            fed.wanted
            and not tape.nuked
            and tape.status == TapeStatus.READY
            and tape.visibility == TapeVisibility.PUBLIC
        )
        if account is not None and fed.did and fed.did != account.did:
            # Relinked to another account: its old records are out of reach; start afresh there.
            fed.stale_rkeys = []
            fed.rkey = ""
        if account is not None:
            fed.did, fed.pds_url = account.did, account.pds_url
        resumed = bool(fed.rkey)
        if wanted and not fed.rkey:
            fed.rkey = new_tid()
        fed.wanted = wanted
        fed.attempts += 1
        fed.state = FederationState.PENDING
        fed.save()
    return fed, account, resumed


def _sync(fed: TapeFederation, tape: Tape, resumed: bool, session: PdsSession) -> dict[str, Any]:
    xrpc = session.xrpc
    for rkey in list(fed.stale_rkeys):
        xrpc.delete_record(session.did, COLLECTION, rkey, session.access_jwt)
        fed.stale_rkeys.remove(rkey)
        _forget_stale(fed.pk, rkey)
    if not fed.wanted:
        return {}
    if resumed:
        existing = xrpc.get_record(session.did, COLLECTION, fed.rkey)
        if existing is not None:
            if fed.revision >= tape.revision:
                return {"rkey": fed.rkey, "uri": existing["uri"], "cid": existing["cid"]}
            return _put(fed, tape, existing, session)
    thumb_type = THUMBNAIL_TYPES.get(Path(tape.thumbnail_key).suffix.lower())
    thumb_ok = bool(tape.thumbnail_key and thumb_type and (tape.thumbnail_bytes or 0) <= 1_000_000)
    # Validate everything (types and sizes included) before the first write.
    tape_lexicon().validate_record(
        tape_record(
            tape,
            video=placeholder_blob("video/mp4", tape.mp4_bytes or 0),
            thumbnail=placeholder_blob(thumb_type or "", tape.thumbnail_bytes or 0)
            if thumb_ok
            else None,
        )
    )
    video = xrpc.upload_blob(_read(tape, tape.mp4_key), "video/mp4", session.access_jwt)
    thumbnail = None
    if thumb_ok and thumb_type:
        thumbnail = xrpc.upload_blob(
            _read(tape, tape.thumbnail_key), thumb_type, session.access_jwt
        )
    record = tape_record(tape, video=video, thumbnail=thumbnail)
    tape_lexicon().validate_record(record)
    try:
        created = xrpc.create_record(session.did, COLLECTION, fed.rkey, record, session.access_jwt)
    except XrpcError as exc:
        # Another run of this job got there first (the PDS answers a taken rkey with a 500):
        # the record is ours, keep it.
        existing = (
            xrpc.get_record(session.did, COLLECTION, fed.rkey) if exc.status is not None else None
        )
        if existing is None:
            raise
        created = existing
    _update(fed.pk, video_cid=str(video["ref"]["$link"]))
    return {
        "rkey": fed.rkey,
        "uri": created["uri"],
        "cid": created["cid"],
        "revision": tape.revision,
    }


def _put(
    fed: TapeFederation, tape: Tape, existing: dict[str, Any], session: PdsSession
) -> dict[str, Any]:
    """The record again with the tape's words as they are now, under its rkey, with the video
    and thumbnail blobs it already holds (nothing uploaded twice). Swapped against the cid just
    read: a record that changed meanwhile is read again on the retry, never overwritten."""
    value = existing.get("value")
    value = value if isinstance(value, dict) else {}
    thumbnail = value.get("thumbnail")
    record = tape_record(
        tape,
        video=value.get("video") or {},
        thumbnail=thumbnail if isinstance(thumbnail, dict) else None,
    )
    tape_lexicon().validate_record(record)
    try:
        put = session.xrpc.put_record(
            session.did,
            COLLECTION,
            fed.rkey,
            record,
            session.access_jwt,
            swap_record=str(existing["cid"]),
        )
    except XrpcError as exc:
        if exc.error == "InvalidSwap":
            raise FederationFailure("record_swapped", exc.message, retryable=True) from exc
        raise
    logger.info("tape %s: record %s updated to revision %s", tape.pk, fed.rkey, tape.revision)
    return {"rkey": fed.rkey, "uri": put["uri"], "cid": put["cid"], "revision": tape.revision}


def pds_retry_delay(*, attempts: int, exc: FederationFailure) -> float:
    """The back-off after attempt ``attempts`` at a PDS (a tape's record, or its Bluesky post),
    between ATPROTO_RETRY_FLOOR_SECONDS and ATPROTO_RETRY_CAP_SECONDS: a 429's reset is waited
    for, but a reset of 0, in the past or absurdly far is held to the bounds, and repeated 429s
    back off like any failure."""
    asked = 0.0
    if exc.code == "pds_rate_limited" and exc.reset_at is not None:
        asked = exc.reset_at - timezone.now().timestamp()
    return backoff_delay(
        attempts,
        floor=float(settings.ATPROTO_RETRY_FLOOR_SECONDS),
        cap=float(settings.ATPROTO_RETRY_CAP_SECONDS),
        wait_at_least=asked,
    )


def tape_federate(*, tape_id: int) -> Outcome:
    """Bring the tape's record on its owner's PDS in line with the tape (create, or delete)."""
    prepared = _prepare(tape_id)
    if prepared is None:
        return Outcome("skipped")
    fed, account, resumed = prepared
    tape = fed.tape
    planned_stale = frozenset(fed.stale_rkeys)
    if account is None:
        if fed.wanted:
            _update(
                fed.pk,
                state=FederationState.FAILED,
                code="atproto_not_linked",
                message=CODES["atproto_not_linked"],
            )
            return Outcome(FederationState.FAILED, "atproto_not_linked")
        # Unlinked before the delete went through: the records stay (as unlinking promises).
        _update(fed.pk, state=FederationState.NONE, stale_rkeys=[], rkey="")
        return Outcome(FederationState.NONE)
    try:
        at = with_session(account_id=account.pk, action=lambda s: _sync(fed, tape, resumed, s))
    except AccountAuthFailed as exc:
        error = FederationFailure("pds_auth_failed", exc.error.message)
        return _failed(fed, error, planned_stale=planned_stale)
    except RecordInvalid as exc:
        return _failed(
            fed, FederationFailure("record_invalid", exc.message), planned_stale=planned_stale
        )
    except FederationFailure as exc:
        return _failed(fed, exc, planned_stale=planned_stale)
    with transaction.atomic():
        rerun = _rerun_if_superseded(fed, planned_stale)
        if rerun is not None:
            return rerun
        done = {"code": "", "message": "", "attempts": 0, "not_before": None, **_RAN}
        if fed.wanted:
            written = int(at.get("revision", fed.revision))
            if _edited_since(tape.pk, written):
                # Edited while this run wrote: the record holds older words. Under the row lock,
                # so an edit committing after this read finds the row done and asks again.
                _update(
                    fed.pk,
                    state=FederationState.PENDING,
                    uri=at["uri"],
                    cid=at["cid"],
                    revision=written,
                    **done,
                )
                tape_id = tape.pk
                transaction.on_commit(lambda: queueing.enqueue_federate(tape_id))
                return Outcome(FederationState.PENDING, "edited")
            _update(
                fed.pk,
                state=FederationState.DONE,
                uri=at["uri"],
                cid=at["cid"],
                revision=written,
                **done,
            )
            logger.info("tape %s federated as %s", tape.pk, at["uri"])
            return Outcome(FederationState.DONE)
        _update(fed.pk, state=FederationState.NONE, uri="", cid="", **done)
        return Outcome(FederationState.NONE)


def _edited_since(tape_id: int, revision: int) -> bool:
    current = Tape.objects.filter(pk=tape_id).values_list("revision", flat=True).first()
    return current is not None and current > revision


def _rerun_if_superseded(fed: TapeFederation, planned_stale: frozenset[str]) -> Outcome | None:
    """Inside a transaction, before a run records its result: when the row was nuked, un-nuked
    or retried while the run talked to the PDS, what it wrote may no longer be wanted. Its rkey
    then joins the deletes and the job runs again on the row as it is now, under an id of its
    own (this run still holds the tape's)."""
    current = TapeFederation.objects.select_for_update().get(pk=fed.pk)
    if not _superseded(fed, current, planned_stale):
        return None
    if fed.rkey and fed.rkey != current.rkey and fed.rkey not in current.stale_rkeys:
        current.stale_rkeys = [*current.stale_rkeys, fed.rkey]
    current.state = FederationState.PENDING
    current.save(update_fields=["stale_rkeys", "state", "updated_at"])
    tape_id = fed.tape_id
    transaction.on_commit(lambda: queueing.enqueue_federate(tape_id, delay_seconds=1))
    logger.info("tape %s changed while federating; running again", tape_id)
    # Scheduled here, not through retry_in: the job and tapes_federate would schedule it twice.
    return Outcome(FederationState.PENDING, "superseded")


def _superseded(
    started: TapeFederation, current: TapeFederation, planned_stale: frozenset[str]
) -> bool:
    """Whether the row changed its mind since the run ``started`` committed its plan (the
    deletes it planned were ``planned_stale``)."""
    if started.wanted != current.wanted:
        return True
    if started.wanted and started.rkey != current.rkey:
        return True
    # Something listed for deletion meanwhile is this run's to miss, not to forget.
    return bool(set(current.stale_rkeys) - planned_stale)


@transaction.atomic
def _failed(
    fed: TapeFederation, exc: FederationFailure, *, planned_stale: frozenset[str]
) -> Outcome:
    rerun = _rerun_if_superseded(fed, planned_stale)
    if rerun is not None:
        return rerun
    message = exc.message[:2000]
    # Creates give up after ATPROTO_FEDERATE_MAX_ATTEMPTS; deletes after their own (longer)
    # bound, into a state staff see and act on (record_delete_failed).
    limit = (
        settings.ATPROTO_FEDERATE_MAX_ATTEMPTS
        if fed.wanted
        else settings.ATPROTO_DELETE_MAX_ATTEMPTS
    )
    if exc.retryable and fed.attempts < int(limit):
        delay = pds_retry_delay(attempts=fed.attempts, exc=exc)
        _update(
            fed.pk,
            state=FederationState.PENDING,
            code=exc.code,
            message=message,
            not_before=timezone.now() + timedelta(seconds=delay),
            **_RAN,
        )
        logger.warning("federating tape %s: %s; retry in %.0f s", fed.tape_id, exc.code, delay)
        return Outcome(FederationState.PENDING, exc.code, retry_in=delay)
    if not fed.wanted:
        return _delete_failed(fed, f"{exc.code}: {message}")
    _update(fed.pk, state=FederationState.FAILED, code=exc.code, message=message, **_RAN)
    logger.warning("federating tape %s failed: %s %s", fed.tape_id, exc.code, message)
    return Outcome(FederationState.FAILED, exc.code)


def _delete_failed(fed: TapeFederation, detail: str) -> Outcome:
    """A nuked tape's record that would not go: failed, still unwanted, its rkeys kept for a
    retry; staff see it (admin filter, /metrics) and retry or abandon it."""
    code = "record_delete_failed"
    message = f"Gave up deleting the record after {fed.attempts} attempts. {detail}"[:2000]
    _update(fed.pk, state=FederationState.FAILED, code=code, message=message, **_RAN)
    logger.error("tape %s: %s (%s)", fed.tape_id, code, detail)
    return Outcome(FederationState.FAILED, code)


def atproto_records_delete_all(*, account: AtprotoAccount) -> int:
    """Delete every record the site wrote for this account's user (unlink with
    delete_records=1): their own tapes only. Two site users may link one DID; one unlinking
    must not touch the other's records."""
    feds = list(
        TapeFederation.objects.filter(tape__user_id=account.user_id, did=account.did).exclude(
            rkey="", stale_rkeys=[]
        )
    )

    def delete(session: PdsSession) -> int:
        count = 0
        for fed in feds:
            for rkey in [*fed.stale_rkeys, *([fed.rkey] if fed.rkey else [])]:
                session.xrpc.delete_record(session.did, COLLECTION, rkey, session.access_jwt)
                count += 1
            _update(
                fed.pk,
                state=FederationState.NONE,
                rkey="",
                uri="",
                cid="",
                stale_rkeys=[],
                wanted=False,
            )
        return count

    return with_session(account_id=account.pk, action=delete)
