"""Handle or DID -> DID, handle and PDS. Pure: the egress client and settings are passed in.

A handle resolves through DNS (a ``_atproto.<handle>`` TXT record, asked of the system's
resolver) or HTTPS (``https://<handle>/.well-known/atproto-did``), or through a resolver
service's ``com.atproto.identity.resolveHandle`` when one is configured (a local PDS in
development and tests, where ``.test`` handles have no DNS). The DID document then comes from the
PLC directory (``did:plc``) or the domain (``did:web``), and gives the PDS and the handle it
claims; a handle that does not point back at the same DID is refused. Every HTTP request goes
through the egress client (the handle, the DID document and the PDS are named by users).

``IdentityError.message`` is the detail, for logs and staff; users see the fixed text of its code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

import dns.exception
import dns.resolver

from federation.xrpc import Xrpc, XrpcError
from tapesite.egress import Egress, EgressError

_HANDLE = re.compile(
    r"^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$"
)
_DID = re.compile(r"^did:(plc|web):[a-zA-Z0-9._:%-]+$")
# A DID document or a handle's DID is small; anything bigger is not one.
_DOC_MAX_BYTES = 64 * 1024
_HANDLE_DID_MAX_BYTES = 2048


class IdentityError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Identity:
    did: str
    handle: str
    pds_url: str


def normalize(identifier: str) -> str:
    value = identifier.strip()
    value = value.removeprefix("at://").removeprefix("@")
    return value if value.startswith("did:") else value.lower()


def _refusal(exc: EgressError, what: str) -> IdentityError:
    """An egress failure while resolving: a refusal keeps its own code (the user named an
    internal address, a redirect...); a server that cannot be reached is the resolver's."""
    if exc.retryable:
        return IdentityError("atproto_resolver_unreachable", f"{what}: {exc}")
    return IdentityError(exc.code, f"{what}: {exc}")


def _dns_did(handle: str, *, timeout: float) -> str | None:
    try:
        answers = dns.resolver.resolve(f"_atproto.{handle}", "TXT", lifetime=timeout)
    except dns.exception.DNSException:
        return None
    found = set()
    for answer in answers:
        text = b"".join(answer.strings).decode("ascii", "replace")
        if text.startswith("did="):
            found.add(text.removeprefix("did="))
    # Two different DIDs for one handle is no answer at all.
    return found.pop() if len(found) == 1 else None


def _https_did(handle: str, *, egress: Egress) -> str | None:
    url = f"https://{handle}/.well-known/atproto-did"
    try:
        response = egress.get(url, max_bytes=_HANDLE_DID_MAX_BYTES)
    except EgressError as exc:
        if exc.code in ("egress_dns_failed", "egress_connect_failed"):
            return None  # no such host: the handle is not found
        raise _refusal(exc, url) from exc
    if response.status != 200:
        return None
    did = response.text.strip()
    return did if _DID.match(did) else None


def resolve_handle(
    handle: str, *, egress: Egress, resolver_url: str, dns_timeout: float = 5.0
) -> str:
    if resolver_url:
        try:
            did = Xrpc(resolver_url, egress=egress).resolve_handle(handle)
        except XrpcError as exc:
            if exc.code == "pds_unreachable":
                raise IdentityError(
                    "atproto_resolver_unreachable", f"Could not resolve {handle}: {exc.message}"
                ) from exc
            if exc.code.startswith("egress_"):
                raise IdentityError(exc.code, f"Could not resolve {handle}: {exc.message}") from exc
            raise IdentityError(
                "atproto_handle_not_found", f"No account has the handle {handle}."
            ) from exc
        if not _DID.match(did):
            raise IdentityError(
                "atproto_handle_not_found", f"{resolver_url} resolved {handle} to {did!r}."
            )
        return did
    found = _dns_did(handle, timeout=dns_timeout) or _https_did(handle, egress=egress)
    if not found:
        raise IdentityError("atproto_handle_not_found", f"No account has the handle {handle}.")
    return found


def did_document_url(did: str, *, plc_url: str) -> str:
    if did.startswith("did:plc:"):
        return f"{plc_url.rstrip('/')}/{quote(did, safe=':')}"
    host = unquote(did.removeprefix("did:web:"))
    if ":" in did.removeprefix("did:web:"):
        # did:web with a path: atproto accepts hostname-level did:web only.
        raise IdentityError("atproto_identifier_invalid", f"{did} is not a hostname did:web.")
    return f"https://{host}/.well-known/did.json"


def did_document(did: str, *, egress: Egress, plc_url: str) -> dict[str, Any]:
    url = did_document_url(did, plc_url=plc_url)
    try:
        response = egress.get(url, max_bytes=_DOC_MAX_BYTES)
    except EgressError as exc:
        raise _refusal(exc, f"the DID document of {did}") from exc
    if response.status != 200:
        raise IdentityError(
            "atproto_did_not_found", f"The DID document of {did}: {url} answered {response.status}"
        )
    try:
        doc = response.json()
    except ValueError as exc:
        raise IdentityError(
            "atproto_did_not_found", f"The DID document of {did} is not JSON: {exc}"
        ) from exc
    if not isinstance(doc, dict) or doc.get("id") != did:
        raise IdentityError("atproto_did_not_found", f"{url} is not the DID document of {did}.")
    return doc


def document_pds(doc: dict[str, Any], did: str) -> str | None:
    """The ``#atproto_pds`` service's endpoint, when it is an http(s) URL."""
    services = doc.get("service")
    for service in services if isinstance(services, list) else []:
        if not isinstance(service, dict):
            continue
        if service.get("id") not in ("#atproto_pds", f"{did}#atproto_pds"):
            continue
        if service.get("type") != "AtprotoPersonalDataServer":
            continue
        endpoint = service.get("serviceEndpoint")
        if isinstance(endpoint, str) and endpoint.startswith(("https://", "http://")):
            return endpoint.rstrip("/")
    return None


def document_handle(doc: dict[str, Any]) -> str:
    """The first ``at://`` name in ``alsoKnownAs`` ('' when none)."""
    names = doc.get("alsoKnownAs")
    for name in names if isinstance(names, list) else []:
        if isinstance(name, str) and name.startswith("at://"):
            return name.removeprefix("at://").lower()
    return ""


def resolve(
    identifier: str,
    *,
    egress: Egress,
    plc_url: str,
    handle_resolver_url: str,
    dns_timeout: float = 5.0,
) -> Identity:
    """The account behind a handle or DID."""
    value = normalize(identifier)
    if value.startswith("did:"):
        if not _DID.match(value):
            raise IdentityError(
                "atproto_identifier_invalid", f"{value!r} is not a did:plc or did:web."
            )
        did, handle_given = value, None
    else:
        if not _HANDLE.match(value):
            raise IdentityError(
                "atproto_identifier_invalid", f"{value!r} is neither a handle nor a DID."
            )
        did = resolve_handle(
            value, egress=egress, resolver_url=handle_resolver_url, dns_timeout=dns_timeout
        )
        handle_given = value
    doc = did_document(did, egress=egress, plc_url=plc_url)
    pds = document_pds(doc, did)
    if not pds:
        raise IdentityError("atproto_no_pds", f"{did} names no PDS in its DID document.")
    handle = document_handle(doc)
    if handle_given is not None and handle != handle_given:
        raise IdentityError(
            "atproto_handle_mismatch",
            f"{handle_given} points at {did}, whose DID document claims {handle or 'no handle'}.",
        )
    return Identity(did=did, handle=handle or did, pds_url=pds)
