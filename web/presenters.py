"""How a tape looks on a page: plain dicts for the templates (and the scripts' JSON)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from federation.selectors import tape_at_record, tape_federation_summary
from tapes.models import Tape, TapeVisibility
from tapes.policy import TapeAction, tape_may
from tapes.presenters import tape_media
from tapes.timing import frame_timing
from web.words import STATUS_WORDS, tape_failure_words


def _media(tape: Tape, request: HttpRequest) -> dict[str, str | None]:
    # Whole URLs: they end up in share tags, where a path is useless to another site.
    return {
        name: (request.build_absolute_uri(url) if url else None)
        for name, url in tape_media(tape).items()
    }


def _claimed(tape: Tape, field: str) -> Any:
    """The archive's fact once the encoder has read it, else what the recorder said."""
    fact = getattr(tape, field)
    if fact is not None:
        return fact
    value = tape.metadata.get({"duration_ms": "duration"}.get(field, field))
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _frame_ms(tape: Tape, frames: Any, duration_ms: Any) -> list[int]:
    """Each frame's integer-ms duration, as the MP4's frames are timed (the player steps by
    them). Tapes encoded before the list was kept get equal steps over their length."""
    if tape.frame_ms:
        return [int(ms) for ms in tape.frame_ms]
    if not frames or not duration_ms or frames < 1 or duration_ms <= 0:
        return []
    return list(frame_timing([duration_ms / frames] * int(frames)).durations)


def _seconds(duration_ms: float | None) -> str:
    return f"{duration_ms / 1000:.1f} s" if duration_ms is not None else ""


def tape_card(tape: Tape, request: HttpRequest) -> dict[str, Any]:
    media = _media(tape, request)
    return {
        "code": tape.code,
        "piece": tape.piece,
        # The owner's title when they gave one; else the piece it was drawn with.
        "title": tape.title,
        "name": tape.title or tape.piece,
        "alt_text": tape.alt_text,
        "url": reverse("web:tape", kwargs={"code": tape.code}),
        "thumbnail": media["thumbnail"],
        "preview": media["preview"],
        "status": tape.status,
        "status_words": STATUS_WORDS.get(tape.status, tape.status),
        "duration": _seconds(_claimed(tape, "duration_ms")),
        "when": tape.when,
        "owner": tape.user.display_name if tape.user is not None else None,
        "owner_username": tape.user.username if tape.user is not None else None,
    }


def tape_page(tape: Tape, request: HttpRequest) -> dict[str, Any]:
    media = _media(tape, request)
    # The "Try again" button: whoever tapes.policy lets retry (its owner, or a moderator).
    may_retry = tape_may(actor=request.user, tape=tape, action=TapeAction.RETRY_ENCODE)
    # The owner's panel (edit, visibility, delete): whoever tapes.policy lets edit.
    may_edit = tape_may(actor=request.user, tape=tape, action=TapeAction.EDIT)
    may_delete = tape_may(actor=request.user, tape=tape, action=TapeAction.DELETE)
    federation = tape_federation_summary(tape)
    # A failed record on the owner's PDS: they may send it again from the page.
    federation_failed = federation["state"] == "failed" and tape_may(
        actor=request.user, tape=tape, action=TapeAction.RETRY_FEDERATION
    )
    path = reverse("web:tape", kwargs={"code": tape.code})
    duration_ms = _claimed(tape, "duration_ms")
    frames = _claimed(tape, "frames")
    return {
        **tape_card(tape, request),
        "page_url": request.build_absolute_uri(path),
        "media": media,
        "frames": frames,
        "duration_ms": duration_ms,
        "frame_ms": _frame_ms(tape, frames, duration_ms),
        "width": tape.width,
        "height": tape.height,
        "progress": tape.progress,
        "failure_code": tape.failure_code,
        "failure_words": tape_failure_words(tape.failure_code),
        "may_retry": may_retry,
        "may_edit": may_edit,
        "may_delete": may_delete,
        "federation": federation,
        "federation_failed": federation_failed,
        "title": tape.title,
        "description": tape.description,
        "alt_text": tape.alt_text,
        "unlisted": tape.visibility == TapeVisibility.UNLISTED,
        # What the page, its share tags and the players call the tape.
        "name": tape.title or f"!{tape.code} · {tape.piece}",
        "guest": tape.user_id is None,
        # The encode job's archive check passed (it records the frames it counted): only then
        # does the page play the ZIP itself.
        "validated": tape.frames is not None,
        "at": tape_at_record(tape),
        "api_url": reverse("tapes:detail", kwargs={"code": tape.code}),
    }


def tape_page_state(page: dict[str, Any]) -> dict[str, Any]:
    """What the tape page's script starts from (the rest it polls from the API)."""
    keys = (
        "code",
        "status",
        "progress",
        "failure_code",
        "media",
        "may_retry",
        "validated",
        "api_url",
        "guest",
    )
    return {
        **{key: page[key] for key in keys},
        "duration_ms": page["duration_ms"],
        # The player's frame steps on the video; the ZIP's playback has its own timing.json.
        "frame_ms": page["frame_ms"],
        "width": page["width"],
        "height": page["height"],
        "retry_url": reverse("tapes:retry", kwargs={"code": page["code"]}),
        "restore_url": reverse("tapes:restore", kwargs={"code": page["code"]}),
    }
