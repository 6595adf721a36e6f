"""Conditional GET for reads that are polled (feeds, and any other cheap-to-validate page).

A view computes its validators from one cheap query (a count and the newest change it covers),
hands them here with a function that renders the body, and gets a 304 without rendering when the
client already has that version (RFC 9110, 13.1 and 13.2.2). Django's ``condition`` decorator
would do the comparison too, but calls the validator functions separately and cannot say "no
Last-Modified while the newest change is in the current second" (below).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.utils import timezone
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


def _etag_matches(header: str, etag: str) -> bool:
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


def _set_validators(
    response: HttpResponse,
    validators: Validators,
    *,
    max_age: int,
    vary: Iterable[str],
) -> HttpResponse:
    response["ETag"] = validators.etag
    last_modified = _usable_last_modified(validators.last_modified)
    if last_modified is not None:
        response["Last-Modified"] = http_date(last_modified.astimezone(UTC).timestamp())
    # Public: the same for everyone (the views using this never depend on who asks).
    response["Cache-Control"] = f"public, max-age={max(0, int(max_age))}"
    vary = list(vary)
    if vary:
        response["Vary"] = ", ".join(vary)
    return response


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
    if request.method in ("GET", "HEAD"):
        if_none_match = request.headers.get("If-None-Match")
        if if_none_match is not None:
            fresh = _etag_matches(if_none_match, validators.etag)
        else:
            fresh = _not_modified_since(
                request.headers.get("If-Modified-Since", ""),
                _usable_last_modified(validators.last_modified),
            )
        if fresh:
            return _set_validators(
                HttpResponseNotModified(), validators, max_age=max_age, vary=vary
            )
    return _set_validators(render(), validators, max_age=max_age, vary=vary)
