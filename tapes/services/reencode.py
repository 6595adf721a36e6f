"""Re-encoding: the one way a tape is encoded again from its kept ZIP, whoever asks.

The owner's "try again" (the API, ``/me``), a moderator's "Retry encode" (the admin, or the API
on someone else's tape) and an operator's ``tapes_reencode`` all come here, through one guard:
under the row lock a nuked tape is refused, and so is a tape whose encode job is still alive; an
owner may only restart a tape whose video failed. The status moves by compare and set from what
the lock read, so a second click, or a retry racing the worker, changes nothing.
"""

from __future__ import annotations

from django.db import transaction

from accounts.models import User
from audit.models import AuditAction
from audit.services import audit_record
from tapes.models import Tape, TapeStatus
from tapes.policy import TapeAction, tape_permission_check
from tapes.queueing import ENCODE
from tapes.services.encoding import tape_enqueue_encode
from tapes.services.status import tape_status_set
from tapesite import queueing
from tapesite.errors import TapesiteError


def _encode_running(tape_id: int) -> bool:
    try:
        return queueing.job_is_live(ENCODE, tape_id)
    except queueing.QueueUnavailable:
        return False  # nothing can be running on a queue nobody reaches


def tape_reencode(
    *, tape: Tape, actor: User | None, reason: str = "", enqueue: bool = True
) -> Tape:
    """Reset ``tape`` to ``uploaded`` with a fresh count of attempts, keeping its files, and
    hand it to the encode queue after commit (``enqueue=False``: the caller encodes it in
    process). With the queue down it waits as ``uploaded`` and the reconcile step enqueues it.

    ``actor``: the owner (a failed tape only), staff with ``tapes.change_tape`` (any tape;
    recorded in the audit log with ``reason``), or None for an operator's command."""
    grant = tape_permission_check(actor=actor, tape=tape, action=TapeAction.RETRY_ENCODE)
    with transaction.atomic():
        locked = Tape.objects.select_for_update().get(pk=tape.pk)
        if locked.nuked:
            raise TapesiteError(
                "tape_nuked", f"!{tape.code} is nuked: un-nuke it before encoding it.", status=409
            )
        if grant.as_owner and locked.status != TapeStatus.FAILED:
            raise TapesiteError(
                "tape_not_failed",
                "Only a tape whose video failed can be retried.",
                status=409,
                details={"status": locked.status},
            )
        if _encode_running(tape.pk):
            raise TapesiteError(
                "encode_running", f"!{tape.code} is being encoded right now.", status=409
            )
        tape_status_set(
            tape_id=tape.pk,
            status=TapeStatus.UPLOADED,
            only_from=TapeStatus(locked.status),
            progress=0,
            attempts=0,
            failure_code="",
            failure_message="",
        )
        if grant.moderated:
            audit_record(
                actor=actor,
                action=AuditAction.TAPE_RETRY_ENCODE,
                target=tape,
                reason=reason,
                details={"status": locked.status, "failure_code": locked.failure_code},
            )
        if enqueue:
            tape_id = tape.pk
            transaction.on_commit(lambda: tape_enqueue_encode(tape_id=tape_id))
    tape.refresh_from_db()
    return tape
