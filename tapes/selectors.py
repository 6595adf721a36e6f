"""Reads: what the API and pages show. Nuked tapes are never public."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet

from accounts.models import User
from tapes.models import Tape, TapeStatus, TapeVisibility


def tape_list(
    *, owner: str | None = None, viewer: User | AnonymousUser | None = None
) -> QuerySet[Tape]:
    """Listed tapes (the gallery, a user's page, the API's list): public ones only, except that
    a signed-in ``viewer`` listing their own tapes sees their unlisted ones too."""
    tapes = Tape.objects.visible().select_related("user")
    if owner is not None:
        tapes = tapes.filter(user__username=owner)
    mine = (
        owner is not None
        and viewer is not None
        and viewer.is_authenticated
        and viewer.get_username() == owner
    )
    if not mine:
        tapes = tapes.filter(visibility=TapeVisibility.PUBLIC)
    return tapes.order_by("-when", "-id")


def tapes_with_code(*, code: str) -> QuerySet[Tape]:
    # Exact, case-sensitive match: "aBc" and "abc" are different tapes.
    return Tape.objects.visible().select_related("user").filter(code=code)


def tape_get(*, code: str) -> Tape | None:
    return tapes_with_code(code=code).first()


def tape_list_of_owner(*, user: User) -> QuerySet[Tape]:
    """The user's own tapes, newest first, in every state (failed ones included: the owner sees
    why and may retry); nuked ones are gone for everybody."""
    return Tape.objects.visible().filter(user=user).order_by("-when", "-id")


def tape_get_of_owner(*, user: User, code: str) -> Tape | None:
    return tape_list_of_owner(user=user).filter(code=code).first()


def tape_list_deleted_of_owner(*, user: User, since: datetime) -> QuerySet[Tape]:
    """The user's own deletes since ``since`` (the undo window): what they may still restore."""
    return Tape.objects.filter(
        user=user, nuked=True, nuked_by_owner=True, nuked_at__gte=since, files_purged_at=None
    ).order_by("-nuked_at", "-id")


def tape_get_deleted(*, code: str) -> Tape | None:
    """A nuked tape by its code, for the restore doors (the service decides who may)."""
    return Tape.objects.filter(code=code, nuked=True).select_related("user").first()


def tapes_by_codes(*, codes: list[str]) -> QuerySet[Tape]:
    """The visible tapes with these codes, oldest first (operators' commands name tapes so)."""
    return Tape.objects.visible().filter(code__in=codes).order_by("pk")


def tape_list_to_reencode(*, codes: list[str], failed: bool) -> QuerySet[Tape]:
    """What an operator asked to re-encode: every failed tape, or the tapes with these codes."""
    if failed:
        return Tape.objects.visible().filter(status=TapeStatus.FAILED).order_by("pk")
    return tapes_by_codes(codes=codes)


def tape_provenance(tape: Tape) -> dict[str, Any] | None:
    """Where the tape was recorded, if it was posted with any provenance: the registered site
    (from the request's Origin; its name as now, or only the origin if it was removed), the
    piece's URL and its source and seed as the page gave them. None for a plain post."""
    if not (tape.origin or tape.piece_url or tape.source or tape.seed):
        return None
    site = tape.site if tape.site_id is not None else None
    return {
        "site": {"name": site.name, "origin": site.origin} if site is not None else None,
        "origin": tape.origin or None,
        "piece_url": tape.piece_url or None,
        "source": tape.source or None,
        "seed": tape.seed or None,
    }
