"""Reading any AT Protocol record for the record page (``/at/<did>/<collection>/<rkey>``): the
DID resolved to the PDS that holds it, the record as that PDS returns it, and its blobs. Every
request goes through the egress client (the DID, and so the PDS, are named by whoever made the
link). Failures carry stable codes the page shows.
"""

from __future__ import annotations

import json
import re
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache

from federation import identity, remote
from federation.xrpc import XrpcError
from tapesite.egress import address_refusal

_DID = re.compile(r"^did:(plc|web):[a-zA-Z0-9._:%-]{1,2040}$")
_NSID = re.compile(r"^[a-zA-Z]([a-zA-Z0-9-]{0,62})?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,62})?){2,}$")
_RKEY = re.compile(r"^[A-Za-z0-9._:~-]{1,512}$")
# Blobs the page plays or shows through the site (their type comes from the record's blob ref,
# never from the PDS's answer: a PDS cannot make the site serve HTML).
PLAYABLE = {"video/mp4", "image/png", "image/jpeg", "image/webp", "image/gif"}
_CACHE_SECONDS = 60

MESSAGES = {
    "at_address_invalid": "That is not the address of an AT Protocol record.",
    "at_did_not_found": "No account has that DID, or its DID document names no PDS.",
    "at_record_not_found": "The PDS holds no such record: it may have been deleted.",
    "at_pds_unreachable": "The PDS that holds this record could not be reached; try again later.",
    "at_pds_refused": "This site does not fetch from that PDS.",
    "at_blob_not_found": "The record has no playable file there.",
    "at_blob_too_large": "That file is too large to show here.",
}


class RecordPageError(Exception):
    def __init__(self, code: str, status: int, detail: str = "") -> None:
        super().__init__(detail or code)
        self.code = code
        self.status = status
        self.message = MESSAGES[code]


@dataclass(frozen=True)
class RemoteRecord:
    did: str
    handle: str
    pds_url: str
    collection: str
    rkey: str
    uri: str
    cid: str
    value: dict[str, Any]
    #: The PDS's answer as it came (uri, cid, value), for the page to show as it is.
    raw: dict[str, Any]

    @property
    def pretty(self) -> str:
        return json.dumps(self.raw, indent=2, ensure_ascii=False)

    def blob(self, field: str) -> dict[str, Any] | None:
        """The blob ref at the record's top-level ``field`` when the page may serve it."""
        ref = self.value.get(field)
        if not isinstance(ref, dict) or ref.get("$type") != "blob":
            return None
        link = ref.get("ref", {}).get("$link") if isinstance(ref.get("ref"), dict) else None
        if not isinstance(link, str) or ref.get("mimeType") not in PLAYABLE:
            return None
        return {"cid": link, "mimeType": ref["mimeType"], "size": ref.get("size")}


def address_check(did: str, collection: str, rkey: str) -> None:
    if not (_DID.match(did) and _NSID.match(collection) and _RKEY.match(rkey)) or rkey in (
        ".",
        "..",
    ):
        raise RecordPageError("at_address_invalid", 404)


def _failure(exc: XrpcError | identity.IdentityError) -> RecordPageError:
    code = exc.code
    if code.startswith("egress_") and code not in (
        "egress_dns_failed",
        "egress_connect_failed",
        "egress_timeout",
        "egress_protocol_error",
    ):
        return RecordPageError("at_pds_refused", 502, exc.message)
    return RecordPageError("at_pds_unreachable", 502, exc.message)


def record_fetch(did: str, collection: str, rkey: str) -> RemoteRecord:
    """The record as its PDS returns it now (cached a minute: the page and its blobs ask once)."""
    address_check(did, collection, rkey)
    key = f"federation:at-record:{did}/{collection}/{rkey}"
    cached = cache.get(key)
    if isinstance(cached, RemoteRecord):
        return cached
    try:
        found = remote.resolve(did)
    except identity.IdentityError as exc:
        if exc.code in ("atproto_did_not_found", "atproto_no_pds", "atproto_identifier_invalid"):
            raise RecordPageError("at_did_not_found", 404, exc.message) from exc
        raise _failure(exc) from exc
    try:
        answer = remote.pds(found.pds_url).get_record(did, collection, rkey)
    except XrpcError as exc:
        if exc.status == 400 and exc.error in ("RepoNotFound", "InvalidRequest"):
            raise RecordPageError("at_record_not_found", 404, exc.message) from exc
        raise _failure(exc) from exc
    if answer is None or not isinstance(answer.get("value"), dict):
        raise RecordPageError("at_record_not_found", 404)
    record = RemoteRecord(
        did=did,
        handle=found.handle if found.handle != did else "",
        pds_url=found.pds_url,
        collection=collection,
        rkey=rkey,
        uri=str(answer.get("uri") or f"at://{did}/{collection}/{rkey}"),
        cid=str(answer.get("cid") or ""),
        value=dict(answer["value"]),
        raw=answer,
    )
    cache.set(key, record, _CACHE_SECONDS)
    return record


def blob_fetch(record: RemoteRecord, field: str) -> tuple[bytes, str]:
    """The bytes and type of the record's blob at ``field`` (video, thumbnail...)."""
    ref = record.blob(field)
    if ref is None:
        raise RecordPageError("at_blob_not_found", 404)
    cap = int(settings.TAPES_AT_BLOB_MAX_BYTES)
    if isinstance(ref["size"], int) and ref["size"] > cap:
        raise RecordPageError("at_blob_too_large", 413)
    try:
        data = remote.pds(record.pds_url).get_blob(record.did, ref["cid"], max_bytes=cap)
    except XrpcError as exc:
        if exc.code == "egress_too_large":
            raise RecordPageError("at_blob_too_large", 413, exc.message) from exc
        if exc.status in (400, 404):
            raise RecordPageError("at_blob_not_found", 404, exc.message) from exc
        raise _failure(exc) from exc
    return data, str(ref["mimeType"])


def pds_is_public(pds_url: str) -> bool:
    """Whether everyone can reach the PDS (every address of its host global): only then do
    links to outside viewers of the record make sense."""
    host = urlsplit(pds_url).hostname or ""
    if not host:
        return False
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return False
    addresses = {str(info[4][0]) for info in infos}
    return bool(addresses) and all(address_refusal(a) is None for a in addresses)
