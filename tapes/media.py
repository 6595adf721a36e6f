"""Serving one stored file of a tape: a redirect to a short-lived S3 link, or the file itself from
local storage. Shared by the public media endpoint (which first checks that the tape is public)
and the admin's (staff see nuked tapes' files too).

Local files answer byte ranges (``tapes.ranges``), streamed a block at a time, so a browser can
seek in the video and Safari on iPhones plays it at all; S3 answers ranges itself."""

from __future__ import annotations

import os
from typing import IO

from django.http import FileResponse, HttpResponseNotModified, HttpResponseRedirect, JsonResponse
from django.http.response import HttpResponseBase
from django.utils.http import http_date, parse_http_date_safe

from tapes.files import BY_NAME
from tapes.ranges import UNSATISFIABLE, ByteRange, parse_range, unsatisfied_content_range
from tapes.storage import media_redirect_url, storage_for
from tapesite.conditional import etag_matches
from tapesite.errors import TapesiteError

_BLOCK = 64 * 1024


class _Slice:
    """Reads ``length`` bytes of an open file from where it stands, then ends: what
    ``FileResponse`` streams for a range (it has no ``tell``, so the response leaves
    ``Content-Length`` to us)."""

    def __init__(self, handle: IO[bytes], length: int) -> None:
        self._handle = handle
        self._left = length

    def read(self, size: int = -1) -> bytes:
        wanted = self._left if size < 0 else min(size, self._left)
        data = self._handle.read(wanted) if wanted > 0 else b""
        self._left -= len(data)
        return data

    def close(self) -> None:
        self._handle.close()


def _validators(handle: IO[bytes]) -> tuple[int, str, str, int]:
    """The file's size, a strong ETag, its Last-Modified and that in whole seconds, from one stat
    of the open file (so they agree even if the file were replaced meanwhile)."""
    stat = os.fstat(handle.fileno())
    etag = f'"{stat.st_size:x}-{stat.st_mtime_ns:x}"'
    return stat.st_size, etag, http_date(stat.st_mtime), int(stat.st_mtime)


def _client_has(
    if_none_match: str | None, if_modified_since: str | None, *, etag: str, mtime: int
) -> bool:
    """A conditional GET's answer: If-None-Match decides when sent, else If-Modified-Since
    (RFC 9110, 13.2.2)."""
    if if_none_match is not None:
        return etag_matches(if_none_match, etag)
    since = parse_http_date_safe(if_modified_since) if if_modified_since else None
    return since is not None and mtime <= since


def _if_range_holds(if_range: str | None, etag: str, last_modified: str) -> bool:
    """Whether a ``Range`` still applies: ``If-Range`` names this very file (a strong ETag or
    the exact Last-Modified), or is absent. A stale one gets the whole file (RFC 9110, 13.1.5)."""
    if if_range is None:
        return True
    value = if_range.strip()
    if value.startswith('"'):
        return value == etag
    return value == last_modified


def media_response(
    *,
    bucket: str,
    key: str,
    name: str,
    expires: int,
    range_header: str | None = None,
    if_range: str | None = None,
    if_none_match: str | None = None,
    if_modified_since: str | None = None,
) -> HttpResponseBase:
    url = media_redirect_url(bucket=bucket, key=key, expires=expires)
    if url is not None:
        return HttpResponseRedirect(url)
    try:
        handle = storage_for(bucket).open(key, "rb")
    except FileNotFoundError as exc:
        raise TapesiteError("not_found", "The file is not in storage.", status=404) from exc
    file = BY_NAME.get(name)
    content_type = file.media_type if file is not None else "application/octet-stream"
    size, etag, last_modified, mtime = _validators(handle)
    if _client_has(if_none_match, if_modified_since, etag=etag, mtime=mtime):
        handle.close()
        not_modified = HttpResponseNotModified()
        not_modified["ETag"] = etag
        not_modified["Last-Modified"] = last_modified
        return not_modified
    wanted = (
        parse_range(range_header, size) if _if_range_holds(if_range, etag, last_modified) else None
    )
    response: HttpResponseBase
    if wanted == UNSATISFIABLE:
        handle.close()
        error = TapesiteError(
            "range_not_satisfiable", "The file has no such bytes.", details={"size": size}
        )
        response = JsonResponse({"error": error.as_dict()}, status=416)
        response["Content-Range"] = unsatisfied_content_range(size)
    elif isinstance(wanted, ByteRange):
        handle.seek(wanted.start)
        response = FileResponse(
            _Slice(handle, wanted.length), status=206, content_type=content_type
        )
        response["Content-Length"] = str(wanted.length)
        response["Content-Range"] = wanted.content_range
    else:
        response = FileResponse(handle, content_type=content_type)
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = etag
    response["Last-Modified"] = last_modified
    return response
