"""What the Bluesky services share: the tape as its post describes it, the row's quick update,
the outcome of a run, and who may be posted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from bluesky.models import BlueskyPost
from bluesky.records import PostedTape
from federation.models import AtprotoAccount
from tapes.models import Tape, TapeStatus, TapeVisibility


@dataclass(frozen=True)
class Outcome:
    """What a run of the posting job did: ``state`` is the row's (``deleted`` when the row went
    with its post, ``skipped`` when there was nothing to do)."""

    state: str
    code: str = ""
    retry_in: float | None = None


def tape_page_url(tape: Tape) -> str:
    """The tape page's whole URL (the post links there, and people follow it from Bluesky)."""
    path = reverse("web:tape", kwargs={"code": tape.code})
    return str(settings.TAPES_SITE_URL).rstrip("/") + path


def posted_tape(tape: Tape) -> PostedTape:
    return PostedTape(
        code=tape.code,
        piece=tape.piece,
        page_url=tape_page_url(tape),
        title=tape.title,
        description=tape.description,
        alt_text=tape.alt_text,
        width=tape.width,
        height=tape.height,
        duration_ms=tape.duration_ms,
    )


def tape_postable(tape: Tape) -> bool:
    """Whether the tape itself may be on Bluesky: ready, public, not nuked, of a user. (Whether
    its owner linked an account is asked separately: the answer differs.)"""
    return (
        tape.user_id is not None
        and not tape.nuked
        and tape.status == TapeStatus.READY
        and tape.visibility == TapeVisibility.PUBLIC
    )


def owner_account(tape: Tape) -> AtprotoAccount | None:
    if tape.user_id is None:
        return None
    return AtprotoAccount.objects.filter(user_id=tape.user_id).first()


def update(post_id: int, **fields: Any) -> None:
    BlueskyPost.objects.filter(pk=post_id).update(updated_at=timezone.now(), **fields)
