"""What a shared cache in front of the site (nginx's ``proxy_cache``, a CDN) may keep of the reads
of tapes, and for how long (docs/operations.md, "Caches in front of the site").

A read is shared, ``public`` for a short while, only when both hold:

- the tape is ready, public (not unlisted) and not nuked: what anyone may see, and done changing;
- the request is anonymous in every way the page could tell: no session cookie, no messages
  cookie, no ``Authorization``. A signed-in viewer's page has their name in the nav and may have
  their CSRF token in a form; a staff member's JSON has details others do not see. Keying a cache
  on the whole Cookie header would split anonymous visitors by every unrelated cookie they carry,
  so the site says which requests may share instead, and the cache skips the others
  (``proxy_cache_bypass``).

Everything else (nuked, unlisted, not ready or failed, signed in, errors) is ``private,
no-store``: never kept. A shared answer lives ``TAPES_SHARED_CACHE_SECONDS`` at most, split
between the shared cache (``s-maxage``) and the browser after it (``max-age``): nginx sends no
``Age``, so a browser counts its max-age from when nginx answered, and the two add up.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.cache import patch_vary_headers

from tapes.models import Tape, TapeStatus, TapeVisibility
from tapesite.conditional import conditional_rendered

NEVER_STORED = "private, no-store"
# What could make two requests' answers differ: who is signed in (the session cookie, a bearer
# token) and one-off notices (the messages cookie).
VARY = ("Cookie", "Authorization")
# Django's cookie for one-off notices (django.contrib.messages' CookieStorage.cookie_name).
MESSAGES_COOKIE = "messages"


def shared_cache_seconds() -> int:
    return max(0, int(settings.TAPES_SHARED_CACHE_SECONDS))


def request_is_anonymous(request: HttpRequest) -> bool:
    """Whether nothing in the request could make its answer differ from another anonymous one."""
    cookies = request.COOKIES
    return (
        settings.SESSION_COOKIE_NAME not in cookies
        and MESSAGES_COOKIE not in cookies
        and "Authorization" not in request.headers
    )


def tape_is_shareable(tape: Tape) -> bool:
    """Ready, public and not nuked: the same for everyone, and not about to change by itself."""
    return (
        not tape.nuked
        and tape.visibility == TapeVisibility.PUBLIC
        and tape.status == TapeStatus.READY
    )


def shared_cache_control(seconds: int | None = None) -> str:
    """``public`` for ``seconds`` in all (the setting by default): half in the shared cache, the
    rest less a second in the browser after it. The second is for caches that count in whole
    seconds (nginx keeps a copy until the second its s-maxage ends, so up to a second more).
    Below three seconds there is nothing to split: stored, but revalidated on every use."""
    total = shared_cache_seconds() if seconds is None else max(0, seconds)
    shared = total // 2
    browser = total - shared - 1
    if shared < 1 or browser < 1:
        return "public, no-cache"
    return f"public, max-age={browser}, s-maxage={shared}"


def shared_read(request: HttpRequest, tape: Tape | None) -> bool:
    return tape is not None and tape_is_shareable(tape) and request_is_anonymous(request)


def never_stored(response: HttpResponseBase) -> HttpResponseBase:
    response["Cache-Control"] = NEVER_STORED
    patch_vary_headers(response, VARY)
    return response


def tape_read_response(
    request: HttpRequest, response: HttpResponseBase, *, tape: Tape | None
) -> HttpResponseBase:
    """A rendered read of ``tape`` (its JSON, page, embed, oEmbed) with the caching headers: shared
    with validators (and a 304 for a client that has it) when ``shared_read``, else never
    stored. ``tape`` is None when there was none to show (the response is then an error)."""
    if tape is None or not shared_read(request, tape):
        return never_stored(response)
    return conditional_rendered(
        request,
        response,
        last_modified=tape.updated_at,
        cache_control=shared_cache_control(),
        vary=VARY,
    )


def listing_response(request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
    """A rendered listing of public tapes (the gallery, a user's page): shared for anonymous
    requests, so a nuked tape's card is gone from caches within the same bound. No
    Last-Modified: a nuke takes a tape out without anything newer coming in, which only the
    ETag (the body's digest) sees."""
    if not request_is_anonymous(request):
        return never_stored(response)
    return conditional_rendered(
        request, response, last_modified=None, cache_control=shared_cache_control(), vary=VARY
    )
