"""Who may do what to a tape: the one place that decides, for the API, the pages and the admin.

A tape's owner acts on their own tape. Anyone else acts as staff, which takes an active staff
account holding the model permission for the action; the service that acts then records it in the
audit log (``Grant.moderated``), whichever door the request came through.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from tapes.models import Tape
from tapesite.errors import TapesiteError


class TapeAction(StrEnum):
    VIEW = "view"
    # Title, description, alt text and visibility.
    EDIT = "edit"
    DELETE = "delete"
    # The owner's undo of their own delete (tapes.services.owner checks it is theirs and recent).
    RESTORE = "restore"
    UNNUKE = "unnuke"
    RETRY_ENCODE = "retry_encode"
    RETRY_FEDERATION = "retry_federation"
    # Leave a nuked tape's record on its PDS when deleting it keeps failing: staff only.
    ABANDON_RECORD_DELETE = "abandon_record_delete"


# What an owner may do to their own tape without any permission. Un-nuking is not one of them:
# an owner cannot restore what a moderator removed (RESTORE is only the undo of their own delete).
OWNER_MAY = frozenset(
    {
        TapeAction.VIEW,
        TapeAction.EDIT,
        TapeAction.DELETE,
        TapeAction.RESTORE,
        TapeAction.RETRY_ENCODE,
        TapeAction.RETRY_FEDERATION,
    }
)
STAFF_PERMISSION = {
    TapeAction.VIEW: "tapes.view_tape",
    TapeAction.EDIT: "tapes.change_tape",
    TapeAction.DELETE: "tapes.nuke_tape",
    TapeAction.RESTORE: "tapes.nuke_tape",
    TapeAction.UNNUKE: "tapes.nuke_tape",
    TapeAction.RETRY_ENCODE: "tapes.change_tape",
    TapeAction.RETRY_FEDERATION: "tapes.change_tape",
    TapeAction.ABANDON_RECORD_DELETE: "tapes.change_tape",
}
_DOING = {
    TapeAction.VIEW: "see this tape",
    TapeAction.EDIT: "edit this tape",
    TapeAction.DELETE: "delete this tape",
    TapeAction.RESTORE: "restore this tape",
    TapeAction.UNNUKE: "restore a tape",
    TapeAction.RETRY_ENCODE: "retry encoding",
    TapeAction.RETRY_FEDERATION: "retry federation",
    TapeAction.ABANDON_RECORD_DELETE: "give up deleting a record",
}


@dataclass(frozen=True)
class Grant:
    """How an action was allowed: as the tape's owner, as staff (``moderated``: audited), or as
    the system (an operator's management command: ``actor`` None)."""

    as_owner: bool
    moderated: bool


def _signed_in(actor: Any) -> bool:
    return actor is not None and bool(actor.is_authenticated) and bool(actor.is_active)


def is_owner(*, actor: Any, tape: Tape) -> bool:
    return _signed_in(actor) and tape.user_id is not None and tape.user_id == actor.pk


def staff_may(*, actor: Any, action: TapeAction) -> bool:
    """Whether ``actor`` may take ``action`` on anybody's tape (admin menus ask this)."""
    return _signed_in(actor) and bool(actor.is_staff) and actor.has_perm(STAFF_PERMISSION[action])


def tape_may(*, actor: Any, tape: Tape, action: TapeAction) -> bool:
    """Whether ``tape_permission_check`` would let ``actor`` take ``action`` (pages ask this to
    offer a button)."""
    try:
        tape_permission_check(actor=actor, tape=tape, action=action)
    except TapesiteError:
        return False
    return True


def tape_permission_check(*, actor: Any, tape: Tape, action: TapeAction) -> Grant:
    """Refuse unless ``actor`` may take ``action`` on ``tape``; say how it was allowed.

    ``actor`` None is the system (management commands run by an operator): always allowed, and
    not audited as a person. Anybody views a tape that is not nuked."""
    if actor is None:
        return Grant(as_owner=False, moderated=False)
    owner = is_owner(actor=actor, tape=tape)
    if action == TapeAction.VIEW and not tape.nuked:
        return Grant(as_owner=owner, moderated=False)
    if not _signed_in(actor):
        raise TapesiteError("not_authenticated", f"Sign in to {_DOING[action]}.", status=401)
    if owner and action in OWNER_MAY:
        return Grant(as_owner=True, moderated=False)
    permission = STAFF_PERMISSION[action]
    if not actor.is_staff:
        who = "the tape's owner or staff" if action in OWNER_MAY else "staff"
        raise TapesiteError("forbidden", f"Only {who} can {_DOING[action]}.", status=403)
    if not actor.has_perm(permission):
        raise TapesiteError(
            "forbidden",
            f"You need the {permission} permission to {_DOING[action]}.",
            status=403,
            details={"permission": permission},
        )
    return Grant(as_owner=False, moderated=True)
