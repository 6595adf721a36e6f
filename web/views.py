"""The site's pages. Views read through selectors and hand plain dicts to templates."""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET

from tapes import caching, selectors
from tapes.archive import ArchiveLimits
from tapes.models import Tape
from tapes.presenters import tapes_for_output
from web import presenters
from web.codes import code_from_input
from web.forms import TapeEditForm
from web.pagination import CursorInvalid, page_of
from web.selectors import user_get_by_username
from web.words import OPEN_REFUSALS, POST_ERRORS, tape_failure_table

PAGE_SIZE = 24
# The drawing piece's colours (PICO-8's sixteen, easy to tell apart at 1x) and a rainbow brush.
PALETTE = [
    ("black", "#000000"),
    ("navy", "#1d2b53"),
    ("plum", "#7e2553"),
    ("green", "#008751"),
    ("brown", "#ab5236"),
    ("slate", "#5f574f"),
    ("silver", "#c2c3c7"),
    ("cream", "#fff1e8"),
    ("red", "#ff004d"),
    ("orange", "#ffa300"),
    ("yellow", "#ffec27"),
    ("lime", "#00e436"),
    ("sky", "#29adff"),
    ("lavender", "#83769c"),
    ("pink", "#ff77a8"),
    ("peach", "#ffccaa"),
    ("rainbow", "rainbow"),
]
BRUSH_SIZES = [1, 2, 4, 8, 16]


def record_limit_seconds() -> int:
    """The recorder's limit: the setting, never beyond what the archive reader accepts."""
    archive_max_ms = float(settings.TAPES_ARCHIVE_LIMITS.get("max_duration_ms", 60_000))
    return max(1, min(int(settings.TAPES_RECORD_LIMIT_SECONDS), int(archive_max_ms // 1000)))


def player_limits() -> dict[str, int | float]:
    """What the tape page's player may read and inflate: the archive reader's limits, and the
    player's own (lower) bounds on what a visitor's tab expands."""
    archive = ArchiveLimits.from_settings(settings.TAPES_ARCHIVE_LIMITS)
    total = min(int(settings.TAPES_PLAYER_MAX_TOTAL_BYTES), archive.max_uncompressed_bytes)
    return {
        "maxArchiveBytes": archive.max_archive_bytes,
        "maxEntries": archive.max_entries,
        "maxEntryBytes": min(int(settings.TAPES_PLAYER_MAX_ENTRY_BYTES), total),
        "maxTotalBytes": total,
        "maxJsonBytes": archive.max_json_bytes,
        "maxEntryRatio": archive.max_entry_ratio,
        "ratioCheckMinBytes": archive.ratio_check_min_bytes,
    }


@require_GET
@ensure_csrf_cookie
def recorder(request: HttpRequest) -> HttpResponse:
    config = {
        "piece": "draw",
        "width": settings.TAPES_RECORD_WIDTH,
        "height": settings.TAPES_RECORD_HEIGHT,
        "limitSeconds": record_limit_seconds(),
        # The archive reader's frame limit: the recorder stops before it.
        "maxFrames": int(settings.TAPES_ARCHIVE_LIMITS.get("max_frames", 3600)),
        "uploadsUrl": reverse("tapes:upload-start"),
        "tapesUrl": reverse("tapes:collection"),
        "tapePageUrl": reverse("web:tape", kwargs={"code": "CODE"}),
        "errors": POST_ERRORS,
        # "Open a tape…" checks a chosen ZIP with the server's own limits (static/tapes/check.js).
        "archiveLimits": dataclasses.asdict(
            ArchiveLimits.from_settings(settings.TAPES_ARCHIVE_LIMITS)
        ),
        "uploadMaxBytes": int(settings.TAPES_UPLOAD_MAX_BYTES),
        "openWords": OPEN_REFUSALS,
    }
    context = {"config": config, "palette": PALETTE, "brush_sizes": BRUSH_SIZES}
    return render(request, "web/recorder.html", context)


# Glow, the WebGL piece: a square canvas, small enough that every pixel shows.
GLOW_SIZE = 192
GLOW_PALETTES = ["ember", "sea", "moss", "candy"]


@require_GET
@ensure_csrf_cookie
def glow(request: HttpRequest) -> HttpResponse:
    """The second piece: a shader that glows where you point, recorded by <tape-recorder>."""
    context = {
        "size": GLOW_SIZE,
        "palettes": GLOW_PALETTES,
        "limit_seconds": min(10, record_limit_seconds()),
    }
    return render(request, "web/glow.html", context)


@require_GET
def tape(request: HttpRequest, code: str) -> HttpResponseBase:
    found = tapes_for_output(selectors.tapes_with_code(code=code)).first()
    if found is None:
        return caching.tape_read_response(request, not_found(request, code=code), tape=None)
    if not caching.shared_read(request, found):
        # What ensure_csrf_cookie did for every view of the page: the owner's forms and the
        # page's API calls need the cookie. A page a cache shares sets no cookie (nginx keeps
        # no answer that does), and an anonymous visitor's calls from it (a guest's delete and
        # undo, with the claim token) are not checked for CSRF.
        get_token(request)
    return caching.tape_read_response(request, _tape_page(request, found), tape=found)


def tape_page_response(
    request: HttpRequest, *, code: str, edit_form: TapeEditForm | None = None, status: int = 200
) -> HttpResponse:
    """The tape page; with ``edit_form``, the owner's form as they sent it, with its errors."""
    found = tapes_for_output(selectors.tapes_with_code(code=code)).first()
    if found is None:
        return not_found(request, code=code)
    return _tape_page(request, found, edit_form=edit_form, status=status)


def _tape_page(
    request: HttpRequest, found: Tape, *, edit_form: TapeEditForm | None = None, status: int = 200
) -> HttpResponse:
    page = presenters.tape_page(found, request)
    if edit_form is None and page["may_edit"]:
        edit_form = TapeEditForm(
            initial={
                "title": found.title,
                "description": found.description,
                "alt_text": found.alt_text,
                "visibility": found.visibility,
            }
        )
    context = {
        "tape": page,
        "state": {**presenters.tape_page_state(page), "limits": player_limits()},
        "words": tape_failure_table(),
        "edit_form": edit_form,
        "embed": presenters.tape_embed_links(found, request),
    }
    return render(request, "web/tape.html", context, status=status)


@require_GET
def tape_short(request: HttpRequest, code: str) -> HttpResponseRedirect:
    """``/!xyz`` and ``/%23xyz``: the forms people paste, led to the tape's page."""
    return redirect("web:tape", code=code)


@require_GET
@ensure_csrf_cookie  # the claim offer POSTs /api/tapes/claim with the cookie's token
def claim(request: HttpRequest) -> HttpResponse:
    """Where a guest's "keep it: claim on Tapesite" link leads from another site's page:
    ``/claim?code=CODE#token=TOKEN``. The token is in the fragment, so it never reaches the
    server (nor logs, nor Referer headers); the page's script keeps it in this browser's
    "tapesite.claims" and clears it from the address. Signed out, the page asks to sign in;
    signed in, it shows the claim offer, which claims only when the person says so."""
    code = code_from_input(request.GET.get("code", ""))
    tape = selectors.tape_get(code=code) if code else None
    back = f"{reverse('web:claim')}?{urlencode({'code': code})}" if code else reverse("web:claim")
    # After the claim the offer reloads the page: by then the tape is the signed-in person's.
    mine = tape is not None and request.user.is_authenticated and tape.user_id == request.user.pk
    context = {
        "code": code,
        "name": f"!{code}" if code else "your tape",
        "mine": mine,
        "card": presenters.tape_card(tape, request) if tape is not None else None,
        "signin_url": f"{reverse('accounts:login')}?{urlencode({'next': back})}",
        "signup_url": f"{reverse('accounts:signup')}?{urlencode({'next': back})}",
        "config": {"code": code},
    }
    return render(request, "web/claim.html", context)


@require_GET
def go(request: HttpRequest) -> HttpResponse:
    """The code box without scripts: a GET form lands here."""
    typed = request.GET.get("code", "")
    code = code_from_input(typed)
    if code is None:
        return not_found(request, code=typed.strip()[:40], typed_badly=True)
    return redirect("web:tape", code=code)


def _grid(
    request: HttpRequest, *, owner: str | None, template: str, extra: dict[str, Any]
) -> HttpResponseBase:
    try:
        page = page_of(
            selectors.tape_list(owner=owner, viewer=request.user),
            cursor=request.GET.get("cursor"),
            size=PAGE_SIZE,
        )
    except CursorInvalid:
        return redirect(request.path)
    context = {
        **extra,
        "cards": [presenters.tape_card(item, request) for item in page.items],
        "next_url": f"{request.path}?cursor={page.next_cursor}" if page.next_cursor else None,
        "is_first_page": not request.GET.get("cursor"),
    }
    if request.GET.get("partial") == "1":
        # Endless scroll asks for the next cards only.
        return caching.listing_response(request, render(request, "web/_tape_items.html", context))
    return caching.listing_response(request, render(request, template, context))


@require_GET
def gallery(request: HttpRequest) -> HttpResponseBase:
    return _grid(request, owner=None, template="web/gallery.html", extra={})


@require_GET
def user_tapes(request: HttpRequest, username: str) -> HttpResponseBase:
    person = user_get_by_username(username=username)
    if person is None:
        return caching.never_stored(not_found(request, what="user", code=username))
    extra = {"person": person, "is_self": request.user.pk == person.pk}
    return _grid(request, owner=person.username, template="web/user.html", extra=extra)


def not_found(
    request: HttpRequest,
    *,
    code: str = "",
    what: str = "tape",
    typed_badly: bool = False,
) -> HttpResponse:
    """The friendly 404: what was missing, and the code box. (Pages Django itself does not find
    render the same templates/404.html through tapesite.api.not_found_handler.)"""
    context = {"missing_code": code, "what": what, "typed_badly": typed_badly}
    return render(request, "404.html", context, status=404)
