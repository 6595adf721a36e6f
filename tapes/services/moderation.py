"""Moderators' and operators' actions on a tape, besides the nuke itself (see posting)."""

from __future__ import annotations

from django.db import transaction

from accounts.models import User
from audit.models import AuditAction
from audit.services import audit_record
from federation.models import FederationState, TapeFederation
from federation.services.lifecycle import tape_federation_retry
from tapes import queueing
from tapes.models import Tape
from tapes.services.encoding import tape_enqueue_encode, tape_reencode_reset
from tapesite.errors import TapesiteError


def staff_permission_check(*, actor: User, permission: str, doing: str) -> None:
    """Refuse unless ``actor`` is active staff holding ``permission`` (superusers hold all)."""
    if not (actor.is_authenticated and actor.is_active and actor.is_staff):
        raise TapesiteError("forbidden", f"Only staff can {doing}.", status=403)
    if not actor.has_perm(permission):
        raise TapesiteError(
            "forbidden",
            f"You need the {permission} permission to {doing}.",
            status=403,
            details={"permission": permission},
        )


@transaction.atomic
def tape_retry_encode(*, tape: Tape, actor: User, reason: str = "") -> Tape:
    """Encode a tape again from its ZIP (a failed one, or a ready one re-done), recorded in the
    audit log. The job is enqueued after commit; with the queue down the tape waits as
    ``uploaded`` and the reconcile step enqueues it."""
    staff_permission_check(actor=actor, permission="tapes.change_tape", doing="retry encoding")
    locked = Tape.objects.select_for_update().get(pk=tape.pk)
    if locked.nuked:
        raise TapesiteError(
            "tape_nuked", f"!{tape.code} is nuked: un-nuke it before encoding it.", status=409
        )
    try:
        running = queueing.encode_job_is_live(tape.pk)
    except queueing.QueueUnavailable:
        running = False
    if running:
        raise TapesiteError(
            "encode_running", f"!{tape.code} is being encoded right now.", status=409
        )
    previous = {"status": locked.status, "failure_code": locked.failure_code}
    tape_reencode_reset(tape=tape)
    audit_record(
        actor=actor,
        action=AuditAction.TAPE_RETRY_ENCODE,
        target=tape,
        reason=reason,
        details=previous,
    )
    tape_id = tape.pk
    transaction.on_commit(lambda: tape_enqueue_encode(tape_id=tape_id))
    return tape


@transaction.atomic
def tape_retry_federation(*, tape: Tape, actor: User, reason: str = "") -> Tape:
    """Put a tape's AT Protocol record back in the queue (a failed sync, or one re-done),
    recorded in the audit log. The federate job is enqueued after commit."""
    staff_permission_check(actor=actor, permission="tapes.change_tape", doing="retry federation")
    fed = TapeFederation.objects.filter(tape=tape).first()
    previous = {
        "state": fed.state if fed is not None else FederationState.NONE.value,
        "code": fed.code if fed is not None else "",
    }
    tape_federation_retry(tape=tape, actor=actor)
    audit_record(
        actor=actor,
        action=AuditAction.TAPE_RETRY_FEDERATION,
        target=tape,
        reason=reason,
        details=previous,
    )
    return tape
