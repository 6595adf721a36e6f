"""How a tape looks from outside: plain dicts for the API's output serializers."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from rest_framework.request import Request

from federation.selectors import tape_federation_summary
from tapes.models import Tape


def tape_url(tape: Tape, *, request: Request | None) -> str:
    path = reverse("tapes:detail", kwargs={"code": tape.code})
    return request.build_absolute_uri(path) if request is not None else path


def media_keys(tape: Tape) -> dict[str, str]:
    """Each medium a tape may have, by its public name, and its storage key ('' until made)."""
    keys = {
        "zip": tape.zip_key,
        "mp4": tape.mp4_key,
        "thumbnail": tape.thumbnail_key,
        "preview": tape.preview_key,
        "gif": tape.gif_key,
    }
    gif = getattr(tape, "gif_key", None)  # the encoder's animated GIF, where the model has it
    if gif is not None:
        keys["gif"] = gif
    return keys


def tape_media(tape: Tape, *, request: Request | None = None) -> dict[str, str | None]:
    """Links through the site's media endpoint, never straight to storage: it checks that the
    tape is still public on every use, so a nuke takes the media down with the tape."""
    urls: dict[str, str | None] = {}
    for name, key in media_keys(tape).items():
        path = reverse("tapes:media", kwargs={"code": tape.code, "name": name}) if key else None
        # API clients on other origins need whole URLs.
        urls[name] = request.build_absolute_uri(path) if path and request is not None else path
    return urls


def tape_public(tape: Tape, *, request: Request | None = None) -> dict[str, Any]:
    failure = (
        {"code": tape.failure_code, "message": tape.failure_message} if tape.failure_code else None
    )
    at = {k: tape.at.get(k) for k in ("uri", "rkey", "cid")} if tape.at else None
    return {
        "code": tape.code,
        "slug": tape.slug,
        "piece": tape.piece,
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
        "at": at,
        "federation": tape_federation_summary(tape),
        "url": tape_url(tape, request=request),
    }
