"""How a tape looks on a page: plain dicts for the templates (and the scripts' JSON)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import escape

from federation.selectors import tape_at_record, tape_federation_summary
from tapes.encoder import DEFAULT_SETTINGS
from tapes.encoder.geometry import output_geometry
from tapes.models import Tape, TapeStatus, TapeVisibility
from tapes.policy import TapeAction, tape_may
from tapes.presenters import tape_media
from tapes.selectors import tape_provenance
from tapes.timing import frame_timing
from web.oembed import EmbedSize, embed_size
from web.words import STATUS_WORDS, tape_failure_words

# How long an oEmbed consumer may keep an answer (the spec's cache_age, in seconds).
OEMBED_CACHE_SECONDS = 3600


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
    # The thumbnail's own size on its <img>, so the grid is laid out before any image arrives.
    thumbnail_width, thumbnail_height = (
        _thumbnail_size(tape) if media["thumbnail"] and tape.width and tape.height else (None, None)
    )
    return {
        "code": tape.code,
        "piece": tape.piece,
        # The owner's title when they gave one; else the piece it was drawn with.
        "title": tape.title,
        "name": tape.title or tape.piece,
        "alt_text": tape.alt_text,
        "url": reverse("web:tape", kwargs={"code": tape.code}),
        "thumbnail": media["thumbnail"],
        "thumbnail_width": thumbnail_width,
        "thumbnail_height": thumbnail_height,
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
        "provenance": provenance_line(tape),
    }


def provenance_line(tape: Tape) -> dict[str, Any] | None:
    """What the tape page says of where the tape was recorded: "Recorded from <piece> on
    <site>", and its source and seed. Every link is the poster's say, so the template marks
    them nofollow ugc; a source is a link only when it is an http(s) URL."""
    provenance = tape_provenance(tape)
    if provenance is None:
        return None
    site = provenance["site"]
    origin = provenance["origin"]
    piece_url = provenance["piece_url"]
    source = provenance["source"] or ""
    return {
        "piece": tape.piece,
        "piece_url": piece_url,
        # A removed site still shows where the tape came from, by its origin's host.
        "site_name": site["name"] if site else (urlsplit(origin).netloc if origin else None),
        "piece_host": urlsplit(piece_url).netloc if piece_url and not origin else None,
        "source": source or None,
        "source_is_url": source.lower().startswith(("http://", "https://")),
        "seed": provenance["seed"],
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


# --- embeds and oEmbed (docs/embeds.md) -----------------------------------------------------------


def embeddable(tape: Tape) -> bool:
    """A picture to embed: the video is made (a tape still being made, or failed, embeds as a
    card saying so, and oEmbed has no answer for it yet)."""
    return tape.status == TapeStatus.READY and bool(tape.mp4_key) and bool(tape.width)


def _iframe(src: str, size: EmbedSize, title: str) -> str:
    # The consumer's page, not ours: the border is turned off the ways every browser knows.
    return (
        f'<iframe src="{escape(src)}" width="{size.width}" height="{size.height}" '
        f'title="{escape(title)}" frameborder="0" style="border:0" allowfullscreen '
        f'loading="lazy"></iframe>'
    )


def _thumbnail_size(tape: Tape) -> tuple[int, int]:
    # The encoder writes the thumbnail at the video's full upscale (tapes.encoder.render).
    width, height = tape.width or 1, tape.height or 1
    long_side = int(settings.TAPES_ENCODER.get("max_long_side", DEFAULT_SETTINGS.max_long_side))
    _, _, factor = output_geometry(width, height, long_side)
    return width * factor, height * factor


def tape_embed_links(tape: Tape, request: HttpRequest) -> dict[str, Any]:
    """What the tape page offers for embedding: the embed page, its iframe code at the default
    size, the oEmbed discovery links (for every tape: consumers ask again once it is ready)."""
    page_url = request.build_absolute_uri(reverse("web:tape", kwargs={"code": tape.code}))
    embed_url = request.build_absolute_uri(reverse("web:tape-embed", kwargs={"code": tape.code}))
    oembed = request.build_absolute_uri(reverse("web:oembed"))
    query = urlencode({"url": page_url})
    size = (
        embed_size(tape.width, tape.height)
        if embeddable(tape) and tape.width and tape.height
        else None
    )
    name = tape.title or f"!{tape.code} · {tape.piece}"
    return {
        "url": embed_url,
        "width": size.width if size else None,
        "height": size.height if size else None,
        "iframe": _iframe(embed_url, size, f"{name} on Tapesite") if size else "",
        "oembed_json": f"{oembed}?{query}&format=json",
        "oembed_xml": f"{oembed}?{query}&format=xml",
    }


def tape_embed(tape: Tape, request: HttpRequest) -> dict[str, Any]:
    """The embed page: the video, its frame times and size, and the link back."""
    card = tape_card(tape, request)
    duration_ms = _claimed(tape, "duration_ms")
    frames = _claimed(tape, "frames")
    return {
        **card,
        "name": tape.title or f"!{tape.code} · {tape.piece}",
        "page_url": request.build_absolute_uri(card["url"]),
        "media": _media(tape, request),
        "ready": embeddable(tape),
        "failed": tape.status == TapeStatus.FAILED,
        "unlisted": tape.visibility == TapeVisibility.UNLISTED,
        "width": tape.width,
        "height": tape.height,
        "state": {
            "code": tape.code,
            "width": tape.width,
            "height": tape.height,
            "frame_ms": _frame_ms(tape, frames, duration_ms),
        },
    }


def tape_oembed(
    tape: Tape, request: HttpRequest, *, maxwidth: int | None, maxheight: int | None
) -> dict[str, str | int] | None:
    """The oEmbed answer for a tape (a ``video``), fitted inside maxwidth by maxheight; None
    when there is none (not ready yet, or no room for even a one-pixel picture)."""
    if not embeddable(tape) or not tape.width or not tape.height:
        return None
    size = embed_size(tape.width, tape.height, maxwidth=maxwidth, maxheight=maxheight)
    if size is None:
        return None
    links = tape_embed_links(tape, request)
    name = tape.title or f"!{tape.code} · {tape.piece}"
    answer: dict[str, str | int] = {
        "type": "video",
        "version": "1.0",
        "title": name,
        "provider_name": "Tapesite",
        "provider_url": request.build_absolute_uri("/"),
        "cache_age": OEMBED_CACHE_SECONDS,
        "html": _iframe(links["url"], size, f"{name} on Tapesite"),
        "width": size.width,
        "height": size.height,
    }
    if tape.user is not None:
        answer["author_name"] = tape.user.display_name
        answer["author_url"] = request.build_absolute_uri(
            reverse("web:user", kwargs={"username": tape.user.username})
        )
    thumbnail = _media(tape, request).get("thumbnail")
    if thumbnail:
        answer["thumbnail_url"] = thumbnail
        answer["thumbnail_width"], answer["thumbnail_height"] = _thumbnail_size(tape)
    return answer
