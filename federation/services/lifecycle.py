"""When a tape federates: started once its video is ready (for a linked owner), retried by
the user, withdrawn by a nuke and started afresh by an un-nuke, and found again by reconcile when
it never started or got stuck. The work itself is ``federate``'s job."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from audit.models import AuditAction
from audit.services import audit_record
from federation import queueing
from federation.models import AtprotoAccount, FederationState, TapeFederation
from federation.services.federate import Outcome, tape_federate
from tapes.models import Tape, TapeStatus
from tapes.policy import TapeAction, tape_permission_check
from tapesite.errors import TapesiteError


def federation_wanted(tape: Tape) -> bool:
    return (
        tape.user_id is not None
        and not tape.nuked
        and tape.status == TapeStatus.READY
        and AtprotoAccount.objects.filter(user_id=tape.user_id).exists()
    )


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
        fed.state = FederationState.PENDING
        fed.code = fed.message = ""
        fed.attempts = 0
        fed.not_before = None
        fed.save()
        tape_id = tape.pk
        transaction.on_commit(lambda: queueing.enqueue_federate(tape_id))
    return fed


def tape_federation_retry(*, tape: Tape, actor: User, reason: str = "") -> TapeFederation:
    """Put a tape's record back in the queue (a failed sync, or one re-done): its owner, or
    staff with ``tapes.change_tape`` (recorded in the audit log with ``reason``)."""
    grant = tape_permission_check(actor=actor, tape=tape, action=TapeAction.RETRY_FEDERATION)
    if tape.status != TapeStatus.READY or tape.nuked:
        raise TapesiteError(
            "federation_not_possible", "Only a ready tape can be federated.", status=409
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


def tapes_federation_reconcile() -> FederationReconcileReport:
    """Ready tapes of linked users whose federation never started, and pending ones with no sign
    of life past ATPROTO_STUCK_AFTER_SECONDS (a killed worker, a lost job): enqueue them."""
    now = timezone.now()
    report = FederationReconcileReport(started=[], requeued=[])
    linked_users = AtprotoAccount.objects.values("user_id")
    unstarted = Tape.objects.visible().filter(
        status=TapeStatus.READY, user_id__in=linked_users, federation__isnull=True
    )
    for tape in unstarted[:500]:
        if tape_federation_start(tape=tape) is not None:
            report.started.append(tape.pk)
    cutoff = now - timedelta(seconds=int(settings.ATPROTO_STUCK_AFTER_SECONDS))
    stuck = TapeFederation.objects.filter(state=FederationState.PENDING, updated_at__lte=cutoff)
    lost = stuck.filter(Q(not_before__isnull=True) | Q(not_before__lte=cutoff))
    for fed_id, tape_id in lost.values_list("pk", "tape_id")[:500]:
        if queueing.enqueue_federate(tape_id):
            # Touched, so the next sweep gives this job a whole stuck period before requeueing.
            TapeFederation.objects.filter(pk=fed_id).update(updated_at=timezone.now())
            report.requeued.append(tape_id)
    return report
