"""Moderation: nuke (a soft delete, by its owner or a moderator) and un-nuke (moderators only),
each audited, each sent to the apps that react while the row is locked (``tapes.events``)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from audit.models import AuditAction
from audit.services import audit_record
from tapes import events
from tapes.models import Tape
from tapes.policy import TapeAction, tape_permission_check
from tapes.services.status import tape_log_change
from tapesite.errors import TapesiteError


@transaction.atomic
def tape_nuke(*, tape: Tape, actor: User, reason: str = "") -> Tape:
    """Soft-delete: the tape disappears from every public read, and its media stop being served
    (the media endpoint checks; S3 links it handed out expire within a minute). Nothing is
    erased, so tape_unnuke brings everything back. Recorded in the audit log with ``reason``,
    in the same transaction, which also sends ``tape_nuked`` to the apps that react (federation
    deletes the AT Protocol record). Its owner or a moderator (staff with ``tapes.nuke_tape``)."""
    tape_permission_check(actor=actor, tape=tape, action=TapeAction.DELETE)
    # The row lock makes concurrent nukes record one entry, and waits out a running purge.
    locked = Tape.objects.select_for_update().get(pk=tape.pk)
    if not locked.nuked:
        tape.nuked = True
        tape.nuked_at = timezone.now()
        tape.save(update_fields=["nuked", "nuked_at", "updated_at"])
        audit_record(actor=actor, action=AuditAction.TAPE_NUKE, target=tape, reason=reason)
        tape_log_change(
            tape=tape, from_state=locked.status, to_state="nuked", since=locked.status_changed_at
        )
        events.tape_nuked.send(sender=Tape, tape=tape)
    else:
        tape.nuked, tape.nuked_at = True, locked.nuked_at
    return tape


@transaction.atomic
def tape_unnuke(*, tape: Tape, actor: User, reason: str = "") -> Tape:
    """Undo a nuke: moderators only (an owner cannot restore what a moderator removed).
    Refused once tapes_purge has deleted the tape's files."""
    tape_permission_check(actor=actor, tape=tape, action=TapeAction.UNNUKE)
    locked = Tape.objects.select_for_update().get(pk=tape.pk)
    if locked.files_purged_at is not None:
        raise TapesiteError(
            "tape_purged",
            f"The files of !{tape.code} were purged on {locked.files_purged_at:%Y-%m-%d}; "
            "it cannot be restored.",
            status=409,
        )
    if locked.nuked:
        tape.nuked = False
        tape.nuked_at = None
        tape.save(update_fields=["nuked", "nuked_at", "updated_at"])
        audit_record(
            actor=actor,
            action=AuditAction.TAPE_UNNUKE,
            target=tape,
            reason=reason,
            details={"nuked_at": locked.nuked_at.isoformat() if locked.nuked_at else None},
        )
        tape_log_change(
            tape=tape, from_state="nuked", to_state=locked.status, since=locked.nuked_at
        )
        events.tape_unnuked.send(sender=Tape, tape=tape)
    return tape
