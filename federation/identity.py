"""Handle or DID -> DID, handle and PDS, with the SDK's resolvers (atproto_identity).

A handle resolves through DNS/HTTPS (the SDK), or through a resolver service's
``com.atproto.identity.resolveHandle`` when one is configured (a local PDS in development and
tests, where ``.test`` handles have no DNS). The DID document then comes from the PLC directory
(``did:plc``) or the domain (``did:web``), and gives the PDS and the handle it claims; a handle
that does not point back at the same DID is refused. Pure: settings are passed in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from atproto_identity.did.resolver import DidResolver
from atproto_identity.handle.resolver import HandleResolver

from federation.xrpc import Xrpc, XrpcError

_HANDLE = re.compile(
    r"^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$"
)
_DID = re.compile(r"^did:(plc|web):[a-zA-Z0-9._:%-]+$")


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


def resolve_handle(handle: str, *, resolver_url: str, timeout: float) -> str:
    if resolver_url:
        try:
            return Xrpc(resolver_url, timeout=timeout).resolve_handle(handle)
        except XrpcError as exc:
            if exc.code == "pds_unreachable":
                raise IdentityError(
                    "atproto_resolver_unreachable", f"Could not resolve {handle}: {exc.message}"
                ) from exc
            raise IdentityError(
                "atproto_handle_not_found", f"No account has the handle {handle}."
            ) from exc
    did = HandleResolver(timeout=timeout).resolve(handle)
    if not did:
        raise IdentityError("atproto_handle_not_found", f"No account has the handle {handle}.")
    return did


def resolve(identifier: str, *, plc_url: str, handle_resolver_url: str, timeout: float) -> Identity:
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
        did = resolve_handle(value, resolver_url=handle_resolver_url, timeout=timeout)
        handle_given = value
    try:
        data = DidResolver(plc_url=plc_url, timeout=timeout).resolve_atproto_data(did)
    except Exception as exc:  # the SDK raises several kinds (HTTP, parse, not found)
        raise IdentityError(
            "atproto_did_not_found", f"The DID document of {did} could not be read: {exc}"
        ) from exc
    if not data.pds:
        raise IdentityError("atproto_no_pds", f"{did} names no PDS in its DID document.")
    handle = (data.handle or "").lower()
    if handle_given is not None and handle != handle_given:
        raise IdentityError(
            "atproto_handle_mismatch",
            f"{handle_given} points at {did}, whose DID document claims {handle or 'no handle'}.",
        )
    return Identity(did=did, handle=handle or did, pds_url=data.pds.rstrip("/"))
