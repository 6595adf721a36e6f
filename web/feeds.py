"""Atom feeds of the latest public tapes (``/tapes/feed.atom``) and of each person's
(``/u/<name>/feed.atom``), with Media RSS for the video, answered conditionally
(``tapesite.conditional``) so readers polling them cost one small query. See docs/feeds.md."""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.templatetags.static import static
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed, Enclosure
from django.utils.html import format_html, linebreaks
from django.views.decorators.http import require_safe

from accounts.models import User
from tapes.models import Tape
from tapes.presenters import tape_media
from tapesite.conditional import conditional_response, validators_for
from web import selectors
from web.views import not_found

MEDIA_NS = "http://search.yahoo.com/mrss/"
# Bumped when what a feed says about the same rows changes (a new element, other wording), so
# readers holding an old ETag get the new body.
FEED_FORMAT = 1
# XML 1.0 has no way to carry these, even escaped; owners' text could hold them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: str) -> str:
    return _NOT_XML.sub("", value)


def site_url(path: str) -> str:
    """A whole URL on the site's public address: feeds are read and kept elsewhere, and their
    ids must not change with the host name a reader happened to use."""
    if urlsplit(path).scheme:
        return path
    return str(settings.TAPES_SITE_URL).rstrip("/") + path


def _tag(kind: str, since: datetime, name: str) -> str:
    """A tag: URI (RFC 4151): stable, and unlike a URL not to be dereferenced."""
    host = urlsplit(str(settings.TAPES_SITE_URL)).hostname or "localhost"
    return f"tag:{host},{since:%Y-%m-%d}:{kind}/{name}"


class MediaAtomFeed(Atom1Feed):
    """Atom with Media RSS (https://www.rssboard.org/media-rss) for each entry's video and an
    icon and logo for the feed."""

    def root_attributes(self) -> dict[str, str]:
        attrs: dict[str, str] = super().root_attributes()
        attrs["xmlns:media"] = MEDIA_NS
        return attrs

    def add_root_elements(self, handler: Any) -> None:
        super().add_root_elements(handler)
        handler.addQuickElement("icon", self.feed["icon"])
        handler.addQuickElement("logo", self.feed["icon"])
        handler.addQuickElement("generator", "Tapesite", {"uri": site_url("/")})

    def add_item_elements(self, handler: Any, item: dict[str, Any]) -> None:
        super().add_item_elements(handler, item)
        video = item.get("video")
        if video is None:
            return
        handler.addQuickElement("media:content", "", video["attrs"])
        # Title, description and thumbnail beside media:content (Media RSS allows both places):
        # every reader that knows Media RSS reads them there.
        handler.addQuickElement("media:title", item["title"], {"type": "plain"})
        if item["media_description"]:
            handler.addQuickElement(
                "media:description", item["media_description"], {"type": "plain"}
            )
        if video["thumbnail"]:
            handler.addQuickElement("media:thumbnail", "", {"url": video["thumbnail"]})


def _entry_html(tape: Tape, *, page: str, thumbnail: str | None) -> str:
    """The entry's summary: its first frame linking to the page, and the owner's description.
    Everything the owner wrote is escaped here (the XML writer escapes it once more)."""
    alt = _text(tape.alt_text) or f"First frame of the tape !{tape.code}"
    parts: list[str] = []
    if thumbnail:
        parts.append(
            format_html(
                '<p><a href="{}"><img src="{}" alt="{}" width="{}" height="{}"></a></p>',
                page,
                thumbnail,
                alt,
                tape.width or 256,
                tape.height or 192,
            )
        )
    if tape.description:
        parts.append(linebreaks(_text(tape.description), autoescape=True))
    parts.append(format_html('<p><a href="{}">!{} on Tapesite</a></p>', page, tape.code))
    return "\n".join(parts)


def _add_entry(feed: MediaAtomFeed, tape: Tape) -> None:
    page = site_url(reverse("web:tape", kwargs={"code": tape.code}))
    media = {name: site_url(url) if url else None for name, url in tape_media(tape).items()}
    title = _text(tape.title) or f"!{tape.code}"
    # "updated" moves with what the owner changes (title, description, alt text), not with the
    # pipeline's bookkeeping.
    updated = max(tape.when, tape.edited_at) if tape.edited_at else tape.when
    owner = tape.user
    video: dict[str, Any] | None = None
    enclosures = []
    if media["mp4"]:
        attrs = {"url": media["mp4"], "type": "video/mp4", "medium": "video", "isDefault": "true"}
        if tape.mp4_bytes:
            attrs["fileSize"] = str(tape.mp4_bytes)
            enclosures.append(Enclosure(media["mp4"], str(tape.mp4_bytes), "video/mp4"))
        if tape.duration_ms:
            # Media RSS counts whole seconds; a tape under one second still lasts one.
            attrs["duration"] = str(max(1, math.ceil(tape.duration_ms / 1000)))
        if tape.width and tape.height:
            attrs["width"], attrs["height"] = str(tape.width), str(tape.height)
        video = {"attrs": attrs, "thumbnail": media["thumbnail"]}
    feed.add_item(
        title=title,
        link=page,
        description=_entry_html(tape, page=page, thumbnail=media["thumbnail"]),
        unique_id=_tag("tape", tape.when, tape.code),
        pubdate=tape.when,
        updateddate=updated,
        author_name=_text(owner.display_name) if owner is not None else "a guest",
        author_link=site_url(reverse("web:user", kwargs={"username": owner.username}))
        if owner is not None
        else None,
        categories=[tape.piece],
        enclosures=enclosures,
        video=video,
        media_description=_text(tape.description),
    )


def _feed_response(request: HttpRequest, *, owner: User | None) -> HttpResponse:
    limit = max(1, int(settings.TAPES_FEED_ENTRIES))
    rows = selectors.feed_version(owner=owner, limit=limit)
    who = (owner.pk, owner.username, owner.display_name) if owner is not None else None
    validators = validators_for(
        FEED_FORMAT,
        str(settings.TAPES_SITE_URL),
        limit,
        who,
        rows,
        last_modified=max((row[1] for row in rows), default=None),
    )

    def render() -> HttpResponse:
        if owner is None:
            link = site_url(reverse("web:gallery"))
            feed_url = site_url(reverse("web:feed"))
            feed_id = feed_url
            title, subtitle = "Tapesite: the latest tapes", "Short tapes drawn on Tapesite"
        else:
            link = site_url(reverse("web:user", kwargs={"username": owner.username}))
            feed_url = site_url(reverse("web:user-feed", kwargs={"username": owner.username}))
            # Not the URL: people may change their username, readers keep the feed's id.
            feed_id = _tag("user", owner.date_joined, str(owner.pk))
            name = _text(owner.display_name)
            title, subtitle = f"{name}'s tapes on Tapesite", f"Tapes by {name}"
        feed = MediaAtomFeed(
            title=title,
            link=link,
            description=subtitle,
            subtitle=subtitle,
            feed_url=feed_url,
            feed_guid=feed_id,
            language="en",
            icon=site_url(static("favicon.svg")),
        )
        for tape in selectors.feed_tapes(owner=owner, limit=limit):
            _add_entry(feed, tape)
        response = HttpResponse(content_type=feed.content_type)
        feed.write(response, "utf-8")
        return response

    return conditional_response(
        request,
        validators=validators,
        render=render,
        max_age=int(settings.TAPES_FEED_MAX_AGE_SECONDS),
    )


@require_safe
def site_feed(request: HttpRequest) -> HttpResponse:
    return _feed_response(request, owner=None)


@require_safe
def user_feed(request: HttpRequest, username: str) -> HttpResponse:
    person = selectors.user_get_by_username(username=username)
    if person is None:
        return not_found(request, what="user", code=username)
    return _feed_response(request, owner=person)
