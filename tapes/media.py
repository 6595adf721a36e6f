"""Serving one stored file of a tape: a redirect to a short-lived S3 link, or the file itself from
local storage. Shared by the public media endpoint (which first checks that the tape is public)
and the admin's (staff see nuked tapes' files too)."""

from __future__ import annotations

from django.http import FileResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase

from tapes.files import BY_NAME
from tapes.storage import media_redirect_url, storage_for
from tapesite.errors import TapesiteError


def media_response(*, bucket: str, key: str, name: str, expires: int) -> HttpResponseBase:
    url = media_redirect_url(bucket=bucket, key=key, expires=expires)
    if url is not None:
        return HttpResponseRedirect(url)
    try:
        handle = storage_for(bucket).open(key, "rb")
    except FileNotFoundError as exc:
        raise TapesiteError("not_found", "The file is not in storage.", status=404) from exc
    file = BY_NAME.get(name)
    return FileResponse(handle, content_type=file.media_type if file is not None else None)
