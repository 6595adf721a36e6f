"""The embed's arithmetic and the oEmbed answer's shapes (https://oembed.com). Pure: no Django.

An embed is the tape's picture at a whole number of pixels per pixel of the drawing (never a
blurry fraction) above a thin bar with the play button and the link back to the tape's page.
Its size is the picture's plus the bar's height.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit
from xml.sax.saxutils import escape

# The embed page's bar (static/web/embed.css: .embed-bar's height): the picture gets the rest.
BAR_PX = 36
# Without maxwidth/maxheight the picture grows to the largest whole scale inside this box.
DEFAULT_BOX = (640, 480)

_TAPE_PATH = re.compile(r"^/t/([A-Za-z0-9]{1,16})/?$")
_SHORT_PATH = re.compile(r"^/(?:!|#)([A-Za-z0-9]{1,16})/?$")


@dataclass(frozen=True)
class EmbedSize:
    """The iframe's size in CSS pixels, and how many of them the drawing's pixels take (a
    fraction below 1 only when the box is smaller than the drawing)."""

    width: int
    height: int
    scale: float


def embed_size(
    art_width: int, art_height: int, *, maxwidth: int | None = None, maxheight: int | None = None
) -> EmbedSize | None:
    """The largest embed that fits the default box and the consumer's maxwidth/maxheight; None
    when not even a one-pixel picture fits (a maxheight no taller than the bar)."""
    box_width, box_height = DEFAULT_BOX
    if maxwidth is not None:
        box_width = min(box_width, maxwidth)
    if maxheight is not None:
        box_height = min(box_height, maxheight - BAR_PX)
    if art_width < 1 or art_height < 1 or box_width < 1 or box_height < 1:
        return None
    whole = min(box_width // art_width, box_height // art_height)
    if whole >= 1:
        return EmbedSize(art_width * whole, art_height * whole + BAR_PX, float(whole))
    # Smaller than the drawing itself: shrink evenly (pixel-exact is impossible below 1x).
    shrink = min(box_width / art_width, box_height / art_height)
    width = max(1, int(art_width * shrink))
    height = max(1, int(art_height * shrink))
    return EmbedSize(width, height + BAR_PX, shrink)


def code_from_tape_url(url: str, *, hosts: Collection[str]) -> str | None:
    """The tape code a link to one of this site's tape pages names (``/t/<code>``, ``/!<code>``
    or ``/%23<code>``, over http or https, on one of ``hosts``, "host" or "host:port", compared
    without case); None for anything else."""
    try:
        parts = urlsplit(url.strip())
        netloc = parts.netloc.lower()
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or "@" in netloc:
        return None
    if netloc not in {host.lower() for host in hosts}:
        return None
    found = _TAPE_PATH.match(parts.path) or _SHORT_PATH.match(unquote(parts.path))
    return found.group(1) if found else None


def oembed_xml(fields: Mapping[str, str | int | float]) -> str:
    """The answer as the spec's XML: one element per field, in order."""
    body = "".join(f"<{name}>{escape(str(value))}</{name}>" for name, value in fields.items())
    return f'<?xml version="1.0" encoding="utf-8" standalone="yes"?>\n<oembed>{body}</oembed>\n'
