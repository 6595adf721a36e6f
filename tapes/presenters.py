"""How a tape looks from outside: plain dicts for the API's output serializers.

An edge, like the APIs and pages: it composes what other apps know of a tape (federation's record
and state) into the one shape clients see. The core (models, services, selectors) never imports
it."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from rest_framework.request import Request

from federation.selectors import tape_at_record, tape_federation_summary
from tapes.files import tape_file_keys
from tapes.models import Tape
from tapes.selectors import tape_provenance


def tapes_for_output(tapes: QuerySet[Tape]) -> QuerySet[Tape]:
    """``tapes`` with what ``tape_public`` reads joined in (one query for a whole page)."""
    return tapes.select_related("user", "federation", "site")


def tape_url(tape: Tape, *, request: Request | None) -> str:
    path = reverse("tapes:detail", kwargs={"code": tape.code})
    return request.build_absolute_uri(path) if request is not None else path


def tape_media(tape: Tape, *, request: Request | None = None) -> dict[str, str | None]:
    """Links through the site's media endpoint, never straight to storage: it checks that the
    tape is still public on every use, so a nuke takes the media down with the tape."""
    urls: dict[str, str | None] = {}
    for name, key in tape_file_keys(tape).items():
        path = reverse("tapes:media", kwargs={"code": tape.code, "name": name}) if key else None
        # API clients on other origins need whole URLs.
        urls[name] = request.build_absolute_uri(path) if path and request is not None else path
    return urls


def _sees_detail(request: Request | None) -> bool:
    """Staff who may view tapes in the admin (moderators) see what the admin shows."""
    user = getattr(request, "user", None)
    return bool(
        user is not None and user.is_active and user.is_staff and user.has_perm("tapes.view_tape")
    )


def tape_public(tape: Tape, *, request: Request | None = None) -> dict[str, Any]:
    failure = (
        {"code": tape.failure_code, "message": tape.failure_message} if tape.failure_code else None
    )
    return {
        "code": tape.code,
        "slug": tape.slug,
        "piece": tape.piece,
        "title": tape.title,
        "description": tape.description,
        "alt_text": tape.alt_text,
        "visibility": tape.visibility,
        "when": tape.when,
        "owner": tape.user.display_name if tape.user is not None else None,
        "status": tape.status,
        "progress": tape.progress,
        "failure": failure,
        "frames": tape.frames,
        "duration_ms": tape.duration_ms,
        "width": tape.width,
        "height": tape.height,
        "media": tape_media(tape, request=request),
        "provenance": tape_provenance(tape),
        "at": tape_at_record(tape),
        # Staff also see the stored detail of a federation failure; everyone else its fixed text.
        "federation": tape_federation_summary(tape, detail=_sees_detail(request)),
        "url": tape_url(tape, request=request),
    }
