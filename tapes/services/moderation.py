"""Deleting and restoring: nuke (a soft delete, by its owner, a moderator, or the guest holding
the tape's claim token), un-nuke (moderators), and an owner's undo of their own delete, each
audited and sent to the apps that react while the row is locked (``tapes.events``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from audit.models import AuditAction
from audit.services import audit_record
from tapes import events
from tapes.models import Tape
from tapes.policy import TapeAction, tape_permission_check
from tapes.services.claims import claim_token_holds
from tapes.services.status import tape_log_change
from tapesite.errors import TapesiteError


def undo_deadline(tape: Tape) -> datetime | None:
    """Until when the owner may undo their delete of ``tape`` (None: not theirs to undo)."""
    if not tape.nuked or not tape.nuked_by_owner or tape.nuked_at is None:
        return None
    if tape.files_purged_at is not None:
        return None
    return tape.nuked_at + timedelta(seconds=int(settings.TAPES_OWNER_UNDO_SECONDS))


def _nuke(tape: Tape, *, actor: User | None, by_owner: bool, reason: str, details: dict) -> Tape:
    # The row lock makes concurrent nukes record one entry, and waits out a running purge.
    locked = Tape.objects.select_for_update().get(pk=tape.pk)
    if locked.nuked:
        tape.nuked, tape.nuked_at, tape.nuked_by_owner = (
            True,
            locked.nuked_at,
            locked.nuked_by_owner,
        )
        return tape
    tape.nuked = True
    tape.nuked_at = timezone.now()
    tape.nuked_by_owner = by_owner
    tape.save(update_fields=["nuked", "nuked_at", "nuked_by_owner", "updated_at"])
    audit_record(
        actor=actor, action=AuditAction.TAPE_NUKE, target=tape, reason=reason, details=details
    )
    tape_log_change(
        tape=tape, from_state=locked.status, to_state="nuked", since=locked.status_changed_at
    )
    events.tape_nuked.send(sender=Tape, tape=tape)
    return tape


def _unnuke(tape: Tape, *, locked: Tape, actor: User | None, reason: str, details: dict) -> Tape:
    if locked.files_purged_at is not None:
        raise TapesiteError(
            "tape_purged",
            f"The files of !{tape.code} were purged on {locked.files_purged_at:%Y-%m-%d}; "
            "it cannot be restored.",
            status=409,
        )
    if not locked.nuked:
        tape.nuked, tape.nuked_at, tape.nuked_by_owner = False, None, False
        return tape
    tape.nuked = False
    tape.nuked_at = None
    tape.nuked_by_owner = False
    tape.save(update_fields=["nuked", "nuked_at", "nuked_by_owner", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.TAPE_UNNUKE,
        target=tape,
        reason=reason,
        details={"nuked_at": locked.nuked_at.isoformat() if locked.nuked_at else None, **details},
    )
    tape_log_change(tape=tape, from_state="nuked", to_state=locked.status, since=locked.nuked_at)
    events.tape_unnuked.send(sender=Tape, tape=tape)
    return tape


@transaction.atomic
def tape_nuke(*, tape: Tape, actor: User | None, reason: str = "") -> Tape:
    """Soft-delete: the tape disappears from every public read, and its media stop being served
    (the media endpoint checks; S3 links it handed out expire within a minute). Nothing is
    erased, so it can be restored (tape_unnuke; tape_restore, the owner's undo). Recorded in the
    audit log with ``reason``, in the same transaction, which also sends ``tape_nuked`` to the
    apps that react (federation deletes the AT Protocol record). Its owner or a moderator (staff
    with ``tapes.nuke_tape``); ``actor`` None is the system."""
    grant = tape_permission_check(actor=actor, tape=tape, action=TapeAction.DELETE)
    return _nuke(tape, actor=actor, by_owner=grant.as_owner, reason=reason, details={})


@transaction.atomic
def tape_unnuke(*, tape: Tape, actor: User, reason: str = "") -> Tape:
    """Undo a nuke: moderators only (an owner cannot restore what a moderator removed; their
    own delete they undo with tape_restore). Refused once tapes_purge has deleted the files."""
    tape_permission_check(actor=actor, tape=tape, action=TapeAction.UNNUKE)
    locked = Tape.objects.select_for_update().get(pk=tape.pk)
    return _unnuke(tape, locked=locked, actor=actor, reason=reason, details={})


def _check_undo(locked: Tape) -> None:
    if not locked.nuked:
        return
    deadline = undo_deadline(locked)
    if not locked.nuked_by_owner:
        raise TapesiteError(
            "restore_not_yours",
            "A moderator removed this tape; only a moderator can bring it back.",
            status=403,
        )
    if deadline is None or timezone.now() > deadline:
        raise TapesiteError(
            "restore_expired",
            f"A deleted tape can be restored for {undo_window_words()} after deleting it; "
            f"!{locked.code} was deleted longer ago.",
            status=409,
        )


def undo_window_words() -> str:
    """TAPES_OWNER_UNDO_SECONDS in words ("24 hours"), for messages."""
    seconds = int(settings.TAPES_OWNER_UNDO_SECONDS)
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour{'s' if hours != 1 else ''}"
    minutes = max(seconds // 60, 1)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


@transaction.atomic
def tape_restore(*, tape: Tape, actor: User) -> Tape:
    """The owner's undo of their own delete, for TAPES_OWNER_UNDO_SECONDS after it. A moderator
    restoring (staff with ``tapes.nuke_tape``) is an un-nuke, at any time."""
    grant = tape_permission_check(actor=actor, tape=tape, action=TapeAction.RESTORE)
    locked = Tape.objects.select_for_update().get(pk=tape.pk)
    if grant.as_owner:
        _check_undo(locked)
    return _unnuke(tape, locked=locked, actor=actor, reason="", details={"by_owner": True})


def _guest_check(tape: Tape, claim_token: str, doing: str) -> None:
    if tape.user_id is not None or not claim_token_holds(tape=tape, token=claim_token):
        raise TapesiteError(
            "claim_token_invalid",
            f"Only the browser that posted this guest tape can {doing} it.",
            status=403,
        )


@transaction.atomic
def tape_delete_as_guest(*, tape: Tape, claim_token: str) -> Tape:
    """A guest deletes the tape they posted, proving it with the claim token their browser got
    when posting (a claimed tape is its owner's: the token no longer works)."""
    _guest_check(tape, claim_token, "delete")
    return _nuke(tape, actor=None, by_owner=True, reason="", details={"by": "guest"})


@transaction.atomic
def tape_restore_as_guest(*, tape: Tape, claim_token: str) -> Tape:
    """The guest's undo of their delete, with the same claim token and window as an owner's."""
    _guest_check(tape, claim_token, "restore")
    locked = Tape.objects.select_for_update().get(pk=tape.pk)
    _check_undo(locked)
    return _unnuke(tape, locked=locked, actor=None, reason="", details={"by": "guest"})
