"""Conditional GET for reads that are polled or cached (feeds, the sitemap, tapes, their pages).

Two ways in. ``conditional_response``: a view computes its validators from one cheap query (a
count and the newest change it covers), hands them here with a function that renders the body,
and gets a 304 without rendering when the client already has that version (RFC 9110, 13.1 and
13.2.2). Django's ``condition`` decorator would do the comparison too, but calls the validator
functions separately and cannot say "no Last-Modified while the newest change is in the current
second" (below).

``conditional_rendered``: for a read whose body is cheap next to what a cache in front saves (a
tape's JSON or page), the view renders as usual and the ETag is the body's digest, so it can
never say "unchanged" for a body that changed, whatever changed it. It lives here, in the
project's plumbing, so both ``tapes`` and ``web`` can use it (docs/operations.md, "Caches").
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import http_date, parse_etags, parse_http_date_safe


@dataclass(frozen=True)
class Validators:
    etag: str  # a strong entity tag, quotes included
    last_modified: datetime | None


def validators_for(*parts: object, last_modified: datetime | None) -> Validators:
    """A strong ETag from whatever identifies the version (counts, timestamps, settings that
    change the body), and the Last-Modified. ``repr`` keeps microseconds, so two changes within
    one second still give two tags."""
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:32]
    return Validators(etag=f'"{digest}"', last_modified=last_modified)


def etag_matches(header: str, etag: str) -> bool:
    # If-None-Match uses the weak comparison: W/"x" matches "x" (RFC 9110, 13.1.2).
    tags = parse_etags(header)
    if "*" in tags:
        return True
    bare = etag.removeprefix("W/")
    return any(tag.removeprefix("W/") == bare for tag in tags)


def _not_modified_since(header: str, last_modified: datetime | None) -> bool:
    since = parse_http_date_safe(header)
    if since is None or last_modified is None:
        return False
    return int(last_modified.timestamp()) <= since


def _usable_last_modified(last_modified: datetime | None) -> datetime | None:
    """HTTP dates have whole seconds. A client told "12:00:00" at 12:00:00.3 would get a 304 for
    a change made at 12:00:00.7, so while the newest change is in the current second the response
    carries no Last-Modified (the ETag, exact, still validates it)."""
    if last_modified is None:
        return None
    if int(last_modified.timestamp()) >= int(timezone.now().timestamp()):
        return None
    return last_modified


def _set_validators[Answer: HttpResponseBase](
    response: Answer,
    validators: Validators,
    *,
    cache_control: str,
    vary: Iterable[str],
) -> Answer:
    response["ETag"] = validators.etag
    last_modified = _usable_last_modified(validators.last_modified)
    if last_modified is not None:
        response["Last-Modified"] = http_date(last_modified.astimezone(UTC).timestamp())
    response["Cache-Control"] = cache_control
    vary = list(vary)
    if vary:
        patch_vary_headers(response, vary)
    return response


def _client_has(request: HttpRequest, validators: Validators) -> bool:
    """Whether a GET or HEAD says the client already holds this version: its If-None-Match, or,
    without one, its If-Modified-Since (RFC 9110, 13.2.2)."""
    if request.method not in ("GET", "HEAD"):
        return False
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        return etag_matches(if_none_match, validators.etag)
    return _not_modified_since(
        request.headers.get("If-Modified-Since", ""),
        _usable_last_modified(validators.last_modified),
    )


def public_cache_control(max_age: int) -> str:
    # Public: the same for everyone (the views using this never depend on who asks).
    return f"public, max-age={max(0, int(max_age))}"


def conditional_response(
    request: HttpRequest,
    *,
    validators: Validators,
    render: Callable[[], HttpResponse],
    max_age: int,
    vary: Iterable[str] = (),
) -> HttpResponse:
    """``render()``'s response with the validators and caching headers, or a 304 when the
    request's If-None-Match (or, without one, its If-Modified-Since) says the client has it.
    Only for GET and HEAD; anything else is rendered as asked."""
    vary = tuple(vary)
    cache_control = public_cache_control(max_age)
    if _client_has(request, validators):
        return _set_validators(
            HttpResponseNotModified(), validators, cache_control=cache_control, vary=vary
        )
    return _set_validators(render(), validators, cache_control=cache_control, vary=vary)


def conditional_rendered(
    request: HttpRequest,
    response: HttpResponseBase,
    *,
    last_modified: datetime | None,
    cache_control: str,
    vary: Iterable[str] = (),
) -> HttpResponseBase:
    """An already rendered 200 with a strong ETag (its body's digest), ``last_modified`` and
    ``cache_control``; a 304 instead when the client holds that body. Any other response (an
    error, a redirect, a stream) only gets ``cache_control`` and ``vary``."""
    vary = tuple(vary)
    if response.status_code != 200 or response.streaming or not isinstance(response, HttpResponse):
        response["Cache-Control"] = cache_control
        if vary:
            patch_vary_headers(response, vary)
        return response
    validators = Validators(
        etag=f'"{hashlib.sha256(response.content).hexdigest()[:32]}"',
        last_modified=last_modified,
    )
    if _client_has(request, validators):
        not_modified = HttpResponseNotModified()
        # What a 304 must repeat of the 200 (RFC 9110, 15.4.5), besides the validators.
        for name in ("Content-Location", "Expires", "Vary"):
            if name in response:
                not_modified[name] = response[name]
        return _set_validators(not_modified, validators, cache_control=cache_control, vary=vary)
    return _set_validators(response, validators, cache_control=cache_control, vary=vary)
