"""When a tape federates: started once its video is ready (for a linked owner), retried by
the user, withdrawn by a nuke (or by going unlisted) and started afresh by an un-nuke (or by
going public again), updated in place when its words are edited, and found again by reconcile
when it never started or got stuck. The work itself is ``federate``'s job."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import User
from audit.models import AuditAction
from audit.services import audit_record
from federation import queueing
from federation.backoff import backoff_delay
from federation.models import AtprotoAccount, FederationState, TapeFederation
from federation.services.federate import Outcome, tape_federate
from tapes.models import Tape, TapeStatus, TapeVisibility
from tapes.policy import TapeAction, tape_permission_check
from tapesite.errors import TapesiteError
from tapesite.queueing import QueueUnavailable

logger = logging.getLogger(__name__)


def federation_wanted(tape: Tape) -> bool:
    return (
        tape.user_id is not None
        and not tape.nuked
        and tape.status == TapeStatus.READY
        # A repo is public and listable: an unlisted tape (reachable by its code only) has no
        # record.
        and tape.visibility == TapeVisibility.PUBLIC
        and AtprotoAccount.objects.filter(user_id=tape.user_id).exists()
    )


def _queue_afresh(fed: TapeFederation) -> None:
    """Inside a transaction with ``fed`` locked: pending with a fresh count of attempts and
    requeues, and the job enqueued once the change commits."""
    fed.state = FederationState.PENDING
    fed.code = fed.message = ""
    fed.attempts = 0
    fed.not_before = None
    fed.requeues, fed.requeue_after = 0, None
    fed.save()
    tape_id = fed.tape_id
    transaction.on_commit(lambda: queueing.enqueue_federate(tape_id))


def tape_federation_start(*, tape: Tape) -> TapeFederation | None:
    """Mark a ready tape of a linked user for federation and enqueue the job after commit.
    Guests and users with no linked account are not federated (returns None)."""
    if not federation_wanted(tape):
        return None
    with transaction.atomic():
        fed, _ = TapeFederation.objects.select_for_update().get_or_create(tape=tape)
        if fed.state == FederationState.DONE and fed.rkey and fed.wanted:
            return fed
        fed.wanted = True
        _queue_afresh(fed)
    return fed


def tape_federation_retry(*, tape: Tape, actor: User, reason: str = "") -> TapeFederation:
    """Put a tape's record back in the queue (a failed sync, or one re-done): its owner, or
    staff with ``tapes.change_tape`` (recorded in the audit log with ``reason``)."""
    grant = tape_permission_check(actor=actor, tape=tape, action=TapeAction.RETRY_FEDERATION)
    if tape.status != TapeStatus.READY or tape.nuked:
        raise TapesiteError(
            "federation_not_possible", "Only a ready tape can be federated.", status=409
        )
    if tape.visibility != TapeVisibility.PUBLIC:
        raise TapesiteError(
            "federation_not_possible",
            "An unlisted tape is not federated: make it public first.",
            status=409,
        )
    with transaction.atomic():
        before = TapeFederation.objects.filter(tape=tape).values_list("state", "code").first()
        fed = tape_federation_start(tape=tape)
        if fed is None:
            raise TapesiteError(
                "atproto_not_linked",
                "Link an AT Protocol account first (PUT /api/me/atproto).",
                status=409,
            )
        if grant.moderated:
            state, code = before or (FederationState.NONE.value, "")
            audit_record(
                actor=actor,
                action=AuditAction.TAPE_RETRY_FEDERATION,
                target=tape,
                reason=reason,
                details={"state": state, "code": code},
            )
    return fed


def tape_federation_on_nuke(*, tape: Tape) -> None:
    """Inside tape_nuke's transaction (``tape_nuked``): the record goes, retried until the PDS
    confirms."""
    fed = TapeFederation.objects.select_for_update().filter(tape=tape).first()
    if fed is None:
        return
    fed.wanted = False
    if fed.rkey:
        fed.stale_rkeys = [*fed.stale_rkeys, fed.rkey]
        fed.rkey = ""
    fed.uri = fed.cid = ""
    fed.state = FederationState.PENDING if fed.stale_rkeys else FederationState.NONE
    fed.code = fed.message = ""
    fed.attempts = 0
    fed.not_before = None
    fed.requeues, fed.requeue_after = 0, None
    fed.save()
    if fed.stale_rkeys:
        tape_id = tape.pk
        transaction.on_commit(lambda: queueing.enqueue_federate(tape_id))


def tape_federation_on_unnuke(*, tape: Tape) -> None:
    """Inside tape_unnuke's transaction (``tape_unnuked``): public again, it federates again,
    under a fresh rkey."""
    fed = TapeFederation.objects.select_for_update().filter(tape=tape).first()
    if fed is not None and (fed.rkey or fed.uri):
        if fed.rkey:
            fed.stale_rkeys = [*fed.stale_rkeys, fed.rkey]
        fed.rkey = fed.uri = fed.cid = ""
        fed.save()
    if federation_wanted(tape):
        tape_federation_start(tape=tape)


def tape_federation_on_visibility(*, tape: Tape) -> None:
    """Inside tape_edit's transaction (``tape_visibility_changed``): unlisted, the record goes as
    a nuked tape's does; public again, it federates afresh as an un-nuked one does."""
    if tape.visibility == TapeVisibility.PUBLIC:
        tape_federation_on_unnuke(tape=tape)
    else:
        tape_federation_on_nuke(tape=tape)


@transaction.atomic
def tape_federation_on_edit(*, tape: Tape) -> TapeFederation | None:
    """After an edit of the tape's words commits (``tape_edited``): a record the PDS holds with
    older words is put again, same rkey. A run under way notices the edit itself when it records
    its result (federate's ``_edited_since``), so only a settled row is queued here."""
    fed = TapeFederation.objects.select_for_update().filter(tape_id=tape.pk).first()
    if fed is None or not fed.wanted or not fed.rkey or not fed.uri:
        return None
    if fed.state not in (FederationState.DONE, FederationState.FAILED):
        return None
    revision = Tape.objects.filter(pk=tape.pk).values_list("revision", flat=True).first()
    if revision is None or fed.revision >= revision:
        return None
    _queue_afresh(fed)
    return fed


def _unwanted_records(tape: Tape, *, states: tuple[str, ...]) -> TapeFederation:
    fed = TapeFederation.objects.select_for_update().filter(tape=tape).first()
    if fed is None or fed.wanted or not fed.stale_rkeys or fed.state not in states:
        raise TapesiteError(
            "record_delete_not_pending",
            "This tape has no record waiting to be deleted.",
            status=409,
        )
    return fed


def tape_federation_delete_retry(*, tape: Tape, actor: User, reason: str = "") -> TapeFederation:
    """Try again to delete a nuked tape's record whose delete gave up (record_delete_failed),
    with a fresh count of attempts: staff with ``tapes.change_tape`` (audited), or the owner."""
    grant = tape_permission_check(actor=actor, tape=tape, action=TapeAction.RETRY_FEDERATION)
    with transaction.atomic():
        fed = _unwanted_records(tape, states=(FederationState.FAILED,))
        before = {"state": fed.state, "code": fed.code, "operation": "delete"}
        _queue_afresh(fed)
        if grant.moderated:
            audit_record(
                actor=actor,
                action=AuditAction.TAPE_RETRY_FEDERATION,
                target=tape,
                reason=reason,
                details=before,
            )
    return fed


def tape_federation_delete_abandon(*, tape: Tape, actor: User, reason: str) -> TapeFederation:
    """Stop trying to delete a nuked tape's record (its PDS is gone, or refuses for good): the
    record stays on the PDS, listed in ``abandoned_rkeys``, and the row rests as ``none`` with
    code record_delete_abandoned. Staff only (``tapes.change_tape``), always audited."""
    tape_permission_check(actor=actor, tape=tape, action=TapeAction.ABANDON_RECORD_DELETE)
    if not reason.strip():
        raise TapesiteError("reason_required", "Say why the record is left on the PDS.")
    with transaction.atomic():
        fed = _unwanted_records(tape, states=(FederationState.FAILED, FederationState.PENDING))
        rkeys = list(fed.stale_rkeys)
        details = {
            "state": fed.state,
            "code": fed.code,
            "did": fed.did,
            "pds_url": fed.pds_url,
            "rkeys": rkeys,
        }
        fed.abandoned_rkeys = [*fed.abandoned_rkeys, *rkeys]
        fed.stale_rkeys = []
        fed.state = FederationState.NONE
        fed.code = "record_delete_abandoned"
        fed.message = f"Left on {fed.pds_url or 'the PDS'} by staff: {', '.join(rkeys)}"
        fed.attempts = 0
        fed.not_before = None
        fed.requeues, fed.requeue_after = 0, None
        fed.save()
        audit_record(
            actor=actor,
            action=AuditAction.TAPE_ABANDON_RECORD_DELETE,
            target=tape,
            reason=reason,
            details=details,
        )
    return fed


def tape_federate_now(*, tape: Tape) -> Outcome:
    """Federate one tape in this process (``tapes_federate``): start it if it is not, run the
    job's work, and leave a transient failure's retry scheduled as the job would."""
    fed = tape_federation_start(tape=tape)
    if fed is None:
        return Outcome("skipped", "not_federable")
    if fed.state == FederationState.DONE:
        return Outcome(FederationState.DONE, "already_federated")
    outcome = tape_federate(tape_id=tape.pk)
    if outcome.retry_in is not None:
        queueing.enqueue_federate(tape.pk, delay_seconds=outcome.retry_in)
    return outcome


@dataclass
class FederationReconcileReport:
    started: list[int]
    requeued: list[int]
    # Requeued ATPROTO_STUCK_MAX_REQUEUES times and still stuck: failed (federation_stuck, or
    # record_delete_failed for a delete).
    gave_up: list[int] = field(default_factory=list)


def _requeue_delay(requeues: int) -> float:
    # No jitter: one sweep a minute already spreads them.
    return backoff_delay(
        requeues,
        floor=float(settings.ATPROTO_STUCK_AFTER_SECONDS),
        cap=max(float(settings.ATPROTO_RETRY_CAP_SECONDS), settings.ATPROTO_STUCK_AFTER_SECONDS),
        rand=lambda: 1.0,
    )


def tapes_federation_reconcile() -> FederationReconcileReport:
    """Ready tapes of linked users whose federation never started, and pending ones whose job
    is neither waiting, scheduled nor running and showed no sign of life past
    ATPROTO_STUCK_AFTER_SECONDS (a killed worker, a lost job, a run the job timeout killed):
    enqueue them again, each time waiting longer before the next requeue, and after
    ATPROTO_STUCK_MAX_REQUEUES fail them with a code staff and the owner see."""
    now = timezone.now()
    report = FederationReconcileReport(started=[], requeued=[])
    linked_users = AtprotoAccount.objects.values("user_id")
    unstarted = Tape.objects.listed().filter(
        status=TapeStatus.READY, user_id__in=linked_users, federation__isnull=True
    )
    for tape in unstarted[:500]:
        if tape_federation_start(tape=tape) is not None:
            report.started.append(tape.pk)
    cutoff = now - timedelta(seconds=int(settings.ATPROTO_STUCK_AFTER_SECONDS))
    stuck = TapeFederation.objects.filter(state=FederationState.PENDING, updated_at__lte=cutoff)
    lost = stuck.filter(
        Q(not_before__isnull=True) | Q(not_before__lte=cutoff),
        Q(requeue_after__isnull=True) | Q(requeue_after__lte=now),
    )
    candidates = list(lost.order_by("updated_at").values_list("pk", "tape_id", "requeues")[:500])
    if not candidates:
        return report
    try:
        live = queueing.federate_jobs_live()
    except QueueUnavailable:
        return report  # the next sweep tries again
    limit = int(settings.ATPROTO_STUCK_MAX_REQUEUES)
    for fed_id, tape_id, requeues in candidates:
        if tape_id in live:
            # Waiting behind a long queue, or running: late, not lost. Looked at again after
            # another stuck period.
            TapeFederation.objects.filter(pk=fed_id).update(updated_at=timezone.now())
            continue
        if requeues >= limit:
            if _fail_stuck(fed_id, cutoff=cutoff):
                report.gave_up.append(tape_id)
            continue
        if queueing.enqueue_federate(tape_id):
            # Touched, so the next sweep gives this job a whole stuck period before requeueing,
            # and a longer wait each time it has to.
            TapeFederation.objects.filter(pk=fed_id).update(
                updated_at=timezone.now(),
                requeues=F("requeues") + 1,
                requeue_after=timezone.now() + timedelta(seconds=_requeue_delay(requeues + 1)),
            )
            report.requeued.append(tape_id)
    return report


@transaction.atomic
def _fail_stuck(fed_id: int, *, cutoff: datetime) -> bool:
    # Under the row lock: a run that started since the sweep looked is not stuck.
    fed = TapeFederation.objects.select_for_update().get(pk=fed_id)
    if fed.state != FederationState.PENDING or fed.updated_at > cutoff:
        return False
    code = "federation_stuck" if fed.wanted else "record_delete_failed"
    fed.state = FederationState.FAILED
    fed.code = code
    fed.message = (
        f"The federate job stopped without finishing after {fed.requeues} requeues "
        f"({fed.attempts} attempts); last: {fed.message or 'no error recorded'}"
    )[:2000]
    fed.requeue_after = None
    fed.save()
    logger.error("tape %s: %s after %s requeues", fed.tape_id, code, fed.requeues)
    return True
