"""The federation app's pages: where a signed-in user links, creates or unlinks their AT Protocol
account, and the public page of any AT Protocol record (``/at/<did>/<collection>/<rkey>``)."""

from __future__ import annotations

import logging
import re
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods

from accounts.models import User
from federation import selectors, services
from federation.errors import public_message
from federation.models import TapeFederation
from federation.record_page import (
    RecordPageError,
    RemoteRecord,
    blob_fetch,
    pds_is_public,
    record_fetch,
)
from federation.services.accounts import pds_error
from federation.services.records import COLLECTION
from federation.services.sessions import AccountAuthFailed
from federation.services.site_pds import handle_name_from, site_pds, site_pds_handle_domain
from federation.xrpc import XrpcError
from tapes.models import Tape
from tapes.selectors import tape_get
from tapesite.errors import TapesiteError

logger = logging.getLogger(__name__)


def _site_pds_context(user: User) -> dict[str, Any]:
    """What the page and the /me box show of the site's own PDS (nothing when it runs none)."""
    pds = site_pds()
    if pds is None:
        return {"site_pds": None}
    return {
        "site_pds": pds,
        "site_pds_domain": site_pds_handle_domain(pds),
        "handle_name": handle_name_from(user.username),
    }


def _act(request: HttpRequest, user: User) -> str:
    """Do what the form asked; the query string of the page to show after it."""
    action = request.POST.get("action")
    if action == "unlink":
        account = selectors.atproto_account_get(user=user)
        if account is not None and request.POST.get("delete_records"):
            try:
                services.atproto_records_delete_all(account=account)
            except AccountAuthFailed as exc:
                raise TapesiteError("pds_auth_failed", public_message("pds_auth_failed")) from exc
            except XrpcError as exc:
                raise pds_error(exc) from exc
        services.atproto_account_unlink(user=user)
        return "?done=unlinked"
    if action == "create":
        services.atproto_account_create(user=user, handle_name=request.POST.get("handle_name"))
        return "?done=created"
    services.atproto_account_link(
        user=user,
        identifier=request.POST.get("identifier", ""),
        app_password=request.POST.get("app_password", ""),
    )
    return "?done=linked"


@sensitive_post_parameters("app_password")
@login_required
@require_http_methods(["GET", "POST"])
def atproto_page(request: HttpRequest) -> HttpResponse:
    error: TapesiteError | None = None
    user = request.user
    assert isinstance(user, User)  # login_required
    context: dict[str, Any] = _site_pds_context(user)
    if request.method == "POST":
        try:
            done = _act(request, user)
            return redirect(reverse("federation_pages:page") + done)
        except TapesiteError as exc:
            error = exc
            details = exc.details or {}
            if request.POST.get("action") == "create":
                context["handle_name"] = details.get("suggestion") or request.POST.get(
                    "handle_name", context.get("handle_name", "")
                )
                context["handle_taken"] = details.get("handle", "")
                context["suggestion"] = details.get("suggestion", "")
            else:
                context["identifier"] = request.POST.get("identifier", "")
    account = selectors.atproto_account_get(user=request.user)
    account_error = public_message(account.error_code) if account and account.error_code else ""
    context.update(
        {
            "account": account,
            "account_error": account_error,
            "error": error,
            "error_action": request.POST.get("action", "link") if error else "",
            "done": request.GET.get("done", "") if error is None else "",
        }
    )
    return render(
        request, "federation/atproto.html", context, status=400 if error is not None else 200
    )


def _our_tape(record: RemoteRecord) -> Tape | None:
    """The site's tape the record names (its ``url`` on this site, or its ``code`` in one of our
    collection's records), if it exists and is not deleted."""
    code = record.value.get("code")
    url = record.value.get("url")
    site = str(settings.TAPES_SITE_URL).rstrip("/")
    if isinstance(url, str) and url.startswith(f"{site}/!"):
        code = url.removeprefix(f"{site}/!")
    elif record.collection != COLLECTION:
        return None
    if not isinstance(code, str) or not code or len(code) > 32:
        return None
    return tape_get(code=code)


@require_GET
def record_page(request: HttpRequest, did: str, collection: str, rkey: str) -> HttpResponse:
    """Any AT Protocol record as its PDS returns it now: pretty JSON, its cid and uri, its video
    and images playable through the site, and a link to the tape it names on this site."""
    try:
        record = record_fetch(did, collection, rkey)
    except RecordPageError as exc:
        logger.info("record page at://%s/%s/%s: %s %s", did, collection, rkey, exc.code, exc)
        context = {"uri": f"at://{did}/{collection}/{rkey}", "error": exc}
        return render(request, "federation/record.html", context, status=exc.status)
    blob_url = partial(reverse, "federation_pages:record-blob")
    kwargs = {"did": did, "collection": collection, "rkey": rkey}
    video = record.blob("video")
    thumbnail = record.blob("thumbnail")
    tape = _our_tape(record)
    public = pds_is_public(record.pds_url)
    context = {
        "record": record,
        "video_url": blob_url(kwargs={**kwargs, "field": "video"}) if video else "",
        "video_type": video["mimeType"] if video else "",
        "thumbnail_url": blob_url(kwargs={**kwargs, "field": "thumbnail"}) if thumbnail else "",
        "alt": record.value.get("alt") if isinstance(record.value.get("alt"), str) else "",
        "tape": tape,
        "ours": TapeFederation.objects.filter(uri=record.uri).exists(),
        "viewer_url": f"{settings.TAPES_AT_RECORD_VIEWER}{record.uri}" if public else "",
    }
    return render(request, "federation/record.html", context)


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@require_GET
def record_blob(
    request: HttpRequest, did: str, collection: str, rkey: str, field: str
) -> HttpResponse:
    """A record's video or image, relayed from its PDS (size-capped, typed from the record's
    blob ref), with single byte ranges for players that seek."""
    try:
        data, mime = blob_fetch(record_fetch(did, collection, rkey), field)
    except RecordPageError as exc:
        return HttpResponse(exc.message, status=exc.status, content_type="text/plain")
    status, body, total = 200, data, len(data)
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "public, max-age=300"}
    match = _RANGE.match(request.headers.get("Range", ""))
    if match and (match.group(1) or match.group(2)):
        if match.group(1):
            start = int(match.group(1))
            end = min(int(match.group(2)) if match.group(2) else total - 1, total - 1)
        else:
            start, end = max(total - int(match.group(2)), 0), total - 1
        if start > end or start >= total:
            return HttpResponse(status=416, headers={"Content-Range": f"bytes */{total}"})
        status, body = 206, data[start : end + 1]
        headers["Content-Range"] = f"bytes {start}-{end}/{total}"
    response = HttpResponse(body, status=status, content_type=mime, headers=headers)
    # Bytes from another server on the site's origin: never a document that could run anything.
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Content-Disposition"] = "inline"
    return response
