"""A small XRPC client for the calls the site makes to a PDS.

Why not the SDK's ``Client``: it refreshes sessions on its own, inside any call, which would let
two workers spend one single-use refresh token at once. Here every call takes the access token it
should use and every failure becomes an ``XrpcError`` with one of the site's stable codes, so the
session logic (federation.services.sessions) stays in one place. Every request goes through the
egress client it is given (``tapesite.egress``: no internal addresses, no redirects, a total
deadline, a size cap; connections kept alive per PDS). Pure: no Django.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from federation.errors import FederationFailure
from tapesite.egress import Egress, EgressError, EgressResponse

# Errors a PDS answers with when the access token should be renewed rather than given up on.
TOKEN_ERRORS = {"ExpiredToken", "InvalidToken"}


class XrpcError(FederationFailure):
    """A call to a PDS that failed: ``code`` is the site's stable code, ``error`` the PDS's
    XRPC error name, ``status`` its HTTP status (None when it could not be reached). ``message``
    is the detail (the PDS's own text, addresses): for logs and staff, never for users."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int | None = None,
        error: str = "",
        retryable: bool = False,
        reset_at: float | None = None,
    ) -> None:
        super().__init__(code, message, retryable=retryable, reset_at=reset_at)
        self.status = status
        self.error = error

    @property
    def token_expired(self) -> bool:
        return self.status in (400, 401) and self.error in TOKEN_ERRORS


def _classify(response: EgressResponse, method: str) -> XrpcError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    error = str(body.get("error") or "") if isinstance(body, dict) else ""
    detail = str(body.get("message") or response.reason) if isinstance(body, dict) else ""
    status = response.status
    where = f"{method} answered {status}{f' {error}' if error else ''}: {detail}"
    if status == 413:
        return XrpcError("pds_blob_too_large", where, status=status, error=error)
    if status == 429:
        reset = response.headers.get("ratelimit-reset")
        reset_at = float(reset) if reset and reset.isdigit() else time.time() + 60
        return XrpcError(
            "pds_rate_limited", where, status=status, error=error, retryable=True, reset_at=reset_at
        )
    if status in (401, 403) or error in TOKEN_ERRORS or error == "AuthenticationRequired":
        return XrpcError("pds_auth_failed", where, status=status, error=error)
    if status >= 500:
        return XrpcError("pds_unreachable", where, status=status, error=error, retryable=True)
    return XrpcError("pds_rejected", where, status=status, error=error)


def egress_failure(exc: EgressError, method: str) -> XrpcError:
    """An egress refusal or failure as an XRPC one: a PDS that cannot be reached (DNS, connect,
    deadline, garbled answer) keeps ``pds_unreachable`` and is retried; a refusal (internal
    address, plain http, redirect, oversized answer, bad certificate) keeps its egress code and
    is not."""
    if exc.retryable:
        return XrpcError("pds_unreachable", f"{method}: {exc}", retryable=True)
    return XrpcError(exc.code, f"{method}: {exc}")


def service_did(pds_url: str) -> str:
    """The DID a PDS names itself with (``did:web:<hostname>``), the ``aud`` of a service-auth
    token meant for it. The port is left out: a PDS's DID is its hostname's (the reference PDS on
    ``http://localhost:PORT`` is ``did:web:localhost``, as its describeServer says), which is
    also how Bluesky's own app names the PDS it asks for a video upload token."""
    host = urlsplit(pds_url).hostname
    if not host:
        raise ValueError(f"no host in {pds_url!r}")
    return f"did:web:{host}"


@dataclass(frozen=True)
class Xrpc:
    base_url: str
    egress: Egress
    #: The total deadline of one call, in seconds (None: the egress client's default).
    deadline: float | None = None
    #: The deadline of an uploadBlob call.
    blob_deadline: float | None = None

    def call(
        self,
        method: str,
        *,
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
        data: bytes | None = None,
        content_type: str | None = None,
        token: str | None = None,
        basic: tuple[str, str] | None = None,
        procedure: bool = False,
        deadline: float | None = None,
    ) -> dict[str, Any]:
        headers: dict[str, str] = {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if content_type:
            headers["Content-Type"] = content_type
        url = f"{self.base_url.rstrip('/')}/xrpc/{method}"
        try:
            response = self.egress.request(
                "POST" if procedure or body is not None or data is not None else "GET",
                url,
                params=params,
                json=body,
                data=data,
                headers=headers,
                basic=basic,
                deadline=deadline if deadline is not None else self.deadline,
            )
        except EgressError as exc:
            raise egress_failure(exc, method) from exc
        if response.status != 200:
            raise _classify(response, method)
        if not response.content:
            return {}
        try:
            return dict(response.json())
        except (ValueError, TypeError) as exc:
            raise XrpcError(
                "pds_unreachable", f"{method}: not JSON from {self.base_url}", retryable=True
            ) from exc

    # --- the calls the site makes ----------------------------------------------------------

    def create_session(self, identifier: str, password: str) -> dict[str, Any]:
        return self.call(
            "com.atproto.server.createSession",
            body={"identifier": identifier, "password": password},
        )

    def refresh_session(self, refresh_jwt: str) -> dict[str, Any]:
        return self.call("com.atproto.server.refreshSession", token=refresh_jwt, procedure=True)

    def get_service_auth(self, *, aud: str, lxm: str, exp: int, token: str) -> str:
        """A token signed with the account's key that lets the service ``aud`` call ``lxm`` on
        the account's behalf until ``exp`` (seconds since the epoch; the PDS allows at most an
        hour ahead)."""
        out = self.call(
            "com.atproto.server.getServiceAuth",
            params={"aud": aud, "lxm": lxm, "exp": str(exp)},
            token=token,
        )
        return str(out["token"])

    def resolve_handle(self, handle: str) -> str:
        return str(
            self.call("com.atproto.identity.resolveHandle", params={"handle": handle})["did"]
        )

    def upload_blob(self, data: bytes, content_type: str, token: str) -> dict[str, Any]:
        out = self.call(
            "com.atproto.repo.uploadBlob",
            data=data,
            content_type=content_type,
            token=token,
            deadline=self.blob_deadline,
        )
        return dict(out["blob"])

    def create_record(
        self, repo: str, collection: str, rkey: str, record: dict[str, Any], token: str
    ) -> dict[str, Any]:
        # validate unset: the PDS does not know our lexicon (validate=true would refuse it);
        # the site validates every record itself before this call.
        return self.call(
            "com.atproto.repo.createRecord",
            body={"repo": repo, "collection": collection, "rkey": rkey, "record": record},
            token=token,
        )

    def put_record(
        self,
        repo: str,
        collection: str,
        rkey: str,
        record: dict[str, Any],
        token: str,
        *,
        swap_record: str | None = None,
    ) -> dict[str, Any]:
        # swap_record: the PDS replaces the record only if it still has this cid (InvalidSwap
        # otherwise), so a write never lands on a record someone changed since it was read.
        body: dict[str, Any] = {
            "repo": repo,
            "collection": collection,
            "rkey": rkey,
            "record": record,
        }
        if swap_record is not None:
            body["swapRecord"] = swap_record
        return self.call("com.atproto.repo.putRecord", body=body, token=token)

    def get_record(self, repo: str, collection: str, rkey: str) -> dict[str, Any] | None:
        try:
            return self.call(
                "com.atproto.repo.getRecord",
                params={"repo": repo, "collection": collection, "rkey": rkey},
            )
        except XrpcError as exc:
            if exc.error == "RecordNotFound" or (exc.status == 400 and "not found" in exc.message):
                return None
            raise

    def delete_record(self, repo: str, collection: str, rkey: str, token: str) -> None:
        self.call(
            "com.atproto.repo.deleteRecord",
            body={"repo": repo, "collection": collection, "rkey": rkey},
            token=token,
        )

    def get_blob(self, did: str, cid: str, *, max_bytes: int) -> bytes:
        """A blob's bytes (``com.atproto.sync.getBlob``), refused past ``max_bytes``."""
        method = "com.atproto.sync.getBlob"
        try:
            response = self.egress.request(
                "GET",
                f"{self.base_url.rstrip('/')}/xrpc/{method}",
                params={"did": did, "cid": cid},
                max_bytes=max_bytes,
                deadline=self.blob_deadline,
            )
        except EgressError as exc:
            raise egress_failure(exc, method) from exc
        if response.status != 200:
            raise _classify(response, method)
        return bytes(response.content)
