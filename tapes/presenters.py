"""How a tape looks from outside: plain dicts for the API's output serializers."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from rest_framework.request import Request

from tapes.models import Tape
from tapes.storage import storage_for


def tape_url(tape: Tape, *, request: Request | None) -> str:
    path = reverse("tapes:detail", kwargs={"code": tape.code})
    return request.build_absolute_uri(path) if request is not None else path


def tape_media(tape: Tape, *, request: Request | None = None) -> dict[str, str | None]:
    storage = storage_for(tape.bucket)
    keys = {
        "zip": tape.zip_key,
        "mp4": tape.mp4_key,
        "thumbnail": tape.thumbnail_key,
        "preview": tape.preview_key,
    }
    urls = {name: (storage.url(key) if key else None) for name, key in keys.items()}
    if request is not None:
        # Local storage answers with paths; API clients on other origins need whole URLs.
        urls = {name: url and request.build_absolute_uri(url) for name, url in urls.items()}
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
        "url": tape_url(tape, request=request),
    }
