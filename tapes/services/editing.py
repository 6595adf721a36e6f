"""An owner's words about their tape (title, description, alt text) and who may find it
(public or unlisted)."""

from __future__ import annotations

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from audit.models import AuditAction
from audit.services import audit_record
from tapes import events
from tapes.models import Tape, TapeVisibility
from tapes.policy import TapeAction, tape_permission_check
from tapesite.errors import TapesiteError

TEXT_FIELDS = ("title", "description", "alt_text")
_SPACES = re.compile(r"[ \t]+")
_BLANK_LINES = re.compile(r"\n{3,}")
# Embeddings, overrides and isolates reorder the text around them when shown (other format
# characters stay: emoji sequences need the zero-width joiner).
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _clean_text(value: str, *, one_line: bool) -> str:
    """What people type, as it should be kept: no control characters or bidi overrides (they
    can reorder text when shown), runs of spaces folded, at most one blank line."""
    value = value.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    value = unicodedata.normalize("NFC", value)
    kept = "".join(
        char
        for char in value
        if char == "\n"
        or (unicodedata.category(char) not in ("Cc", "Cs", "Co") and char not in _BIDI_CONTROLS)
    )
    if one_line:
        return _SPACES.sub(" ", kept.replace("\n", " ")).strip()
    lines = [_SPACES.sub(" ", line).strip() for line in kept.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


@transaction.atomic
def tape_edit(
    *,
    tape: Tape,
    actor: User,
    title: str | None = None,
    description: str | None = None,
    alt_text: str | None = None,
    visibility: str | None = None,
    reason: str = "",
) -> Tape:
    """Change what the owner says about a tape and who may find it; None leaves a field as it
    is. Text edits raise ``revision`` and tell the apps that keep copies (``tape_edited``, after
    commit: federation updates the record in place); a visibility change is sent inside the
    transaction (``tape_visibility_changed``: an unlisted tape leaves listings elsewhere). Its
    owner, or staff with ``tapes.change_tape`` (audited)."""
    grant = tape_permission_check(actor=actor, tape=tape, action=TapeAction.EDIT)
    locked = Tape.objects.select_for_update().get(pk=tape.pk)
    if locked.nuked:
        raise TapesiteError(
            "tape_deleted", "A deleted tape cannot be edited: restore it first.", status=409
        )
    wanted = {"title": title, "description": description, "alt_text": alt_text}
    changes: dict[str, str] = {}
    for name, value in wanted.items():
        if value is None:
            continue
        cleaned = _clean_text(value, one_line=name == "title")
        if cleaned != getattr(locked, name):
            changes[name] = cleaned
    if visibility is not None and visibility != locked.visibility:
        if visibility not in TapeVisibility.values:
            raise TapesiteError(
                "invalid_input",
                "Visibility is public or unlisted.",
                details={"visibility": [f"{visibility!r} is not public or unlisted."]},
            )
        changes["visibility"] = visibility
    if not changes:
        return locked
    before = {name: getattr(locked, name) for name in changes}
    for name, value in changes.items():
        setattr(locked, name, value)
    try:
        locked.clean_fields(exclude=[f.name for f in Tape._meta.fields if f.name not in changes])
    except ValidationError as exc:
        raise TapesiteError(
            "invalid_input",
            "; ".join(f"{field}: {' '.join(errors)}" for field, errors in exc.message_dict.items()),
            details=exc.message_dict,
        ) from exc
    text_changed = any(name in changes for name in TEXT_FIELDS)
    fields = [*changes, "updated_at"]
    if text_changed:
        locked.revision += 1
        locked.edited_at = timezone.now()
        fields += ["revision", "edited_at"]
    locked.save(update_fields=fields)
    if grant.moderated:
        audit_record(
            actor=actor,
            action=AuditAction.TAPE_EDIT,
            target=locked,
            reason=reason,
            details={"before": before, "after": changes},
        )
    if "visibility" in changes:
        events.tape_visibility_changed.send(sender=Tape, tape=locked)
    if text_changed:
        events.send_after_commit(events.tape_edited, tape=locked)
    return locked
