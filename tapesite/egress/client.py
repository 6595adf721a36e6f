"""The HTTP client for addresses users can influence. Pure: the configuration is passed in.

One call: resolve the host once, refuse a non-global address (unless the URL's origin is on the
allowlist), connect to exactly the address that was checked (so a second DNS answer cannot move
the request elsewhere), speak TLS with the hostname's SNI and certificate, send, refuse a
redirect, and read at most ``max_bytes``, all within one total deadline: every socket operation
gets only the time left, so a server that trickles a byte every few seconds still ends at the
deadline. Connections (``tapesite.egress.connection``) are kept alive per (origin, address) and
shared between threads.
"""

from __future__ import annotations

import base64
import http.client
import ipaddress
import json as jsonlib
import socket
import ssl
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from tapesite.egress.addresses import OriginError, address_refusal, origin, split_url
from tapesite.egress.connection import SHARED_POOL, Connection, ConnectionPool, PoolKey

# Stable codes, and whether trying the same call later could help.
RETRYABLE = {
    "egress_dns_failed": True,
    "egress_connect_failed": True,
    "egress_timeout": True,
    "egress_protocol_error": True,
    "egress_url_invalid": False,
    "egress_https_required": False,
    "egress_address_refused": False,
    "egress_tls_failed": False,
    "egress_redirect": False,
    "egress_too_large": False,
}

# What a user may be told for each code; the detail (addresses, remote text) is for logs only.
MESSAGES = {
    "egress_dns_failed": "The server's name could not be resolved.",
    "egress_connect_failed": "The server could not be reached.",
    "egress_timeout": "The server took too long to answer.",
    "egress_protocol_error": "The server's answer could not be read.",
    "egress_url_invalid": "The server's address is not a valid http(s) URL.",
    "egress_https_required": "The server must be reached over HTTPS.",
    "egress_address_refused": "The server's address is not on the public internet.",
    "egress_tls_failed": "The server's HTTPS certificate could not be verified.",
    "egress_redirect": "The server answered with a redirect, which is not followed.",
    "egress_too_large": "The server's answer was too large.",
}


class EgressError(Exception):
    """A refused or failed request: ``code`` is one of ``MESSAGES``; ``detail`` says what
    happened (for logs and staff, never for users)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail

    @property
    def retryable(self) -> bool:
        return RETRYABLE.get(self.code, False)

    @property
    def message(self) -> str:
        return MESSAGES.get(self.code, "The request to another server failed.")


@dataclass(frozen=True)
class EgressConfig:
    #: Origins (``scheme://host:port``, see ``addresses.origin``) exempt from the address check,
    #: and the only ones that may use plain http when https is not required.
    allowed_origins: frozenset[str] = frozenset()
    require_https: bool = True
    connect_timeout: float = 3.0
    #: The default total deadline of one call, in seconds.
    deadline: float = 15.0
    #: The default cap on a response body, in bytes.
    max_bytes: int = 1024 * 1024
    user_agent: str = "tapesite/1"


@dataclass
class EgressResponse:
    status: int
    reason: str
    headers: dict[str, str]  # names lower-cased
    content: bytes
    url: str

    def json(self) -> Any:
        """The body as JSON; ValueError when it is not."""
        return jsonlib.loads(self.content)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")


Resolver = Callable[[str, int], list[tuple[int, tuple[Any, ...]]]]


def system_resolve(host: str, port: int) -> list[tuple[int, tuple[Any, ...]]]:
    """``[(family, sockaddr)]`` from the system resolver."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    seen: list[tuple[int, tuple[Any, ...]]] = []
    for family, _, _, _, sockaddr in found:
        entry = (int(family), tuple(sockaddr))
        if entry not in seen:
            seen.append(entry)
    return seen


_DNS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="egress-dns")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


_TLS = ssl.create_default_context()


class Egress:
    """``Egress(config).request(...)``; see the module's docstring."""

    def __init__(
        self,
        config: EgressConfig,
        *,
        resolve: Resolver = system_resolve,
        pool: ConnectionPool = SHARED_POOL,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.config = config
        self._resolve = resolve
        self._pool = pool
        self._tls = tls or _TLS

    def get(self, url: str, **kwargs: Any) -> EgressResponse:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> EgressResponse:
        return self.request("POST", url, **kwargs)

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        data: bytes | None = None,
        basic: tuple[str, str] | None = None,
        max_bytes: int | None = None,
        deadline: float | None = None,
    ) -> EgressResponse:
        """One request; any status but a redirect comes back as a response (the caller reads
        4xx/5xx), everything else as an ``EgressError``."""
        ends = time.monotonic() + (deadline if deadline is not None else self.config.deadline)
        cap = max_bytes if max_bytes is not None else self.config.max_bytes
        try:
            parts, scheme, host, port = split_url(url)
            where = origin(url)
        except OriginError as exc:
            raise EgressError("egress_url_invalid", f"{url!r}: {exc}") from exc
        allowed = where in self.config.allowed_origins
        addresses = self._addresses(host, port, url=url, allowed=allowed, ends=ends)
        if scheme != "https" and (self.config.require_https or not allowed):
            raise EgressError("egress_https_required", f"{url}: plain http to {where}")
        target = parts.path or "/"
        query = "&".join(q for q in (parts.query, urlencode(params or {})) if q)
        if query:
            target = f"{target}?{query}"
        body = data
        sent = {"User-Agent": self.config.user_agent, "Accept-Encoding": "identity"}
        if json is not None:
            body = jsonlib.dumps(json).encode()
            sent["Content-Type"] = "application/json"
        if basic is not None:
            pair = base64.b64encode(f"{basic[0]}:{basic[1]}".encode()).decode()
            sent["Authorization"] = f"Basic {pair}"
        sent.update(headers or {})
        if body is not None:
            sent["Content-Length"] = str(len(body))
        elif method.upper() in ("POST", "PUT", "PATCH"):
            sent["Content-Length"] = "0"
        request = _Request(method.upper(), target, body, sent, cap, url)
        tls = self._tls if scheme == "https" else None
        last: EgressError | None = None
        for family, sockaddr in addresses:
            key: PoolKey = (where, sockaddr)
            conn = self._pool.take(key)
            if conn is not None:
                conn.clock.deadline = ends
                try:
                    return self._exchange(conn, key, request)
                except _StaleConnection:
                    pass  # the server closed it while idle; a fresh one below
            conn = Connection(
                host,
                port,
                family=family,
                sockaddr=sockaddr,
                tls=tls,
                connect_timeout=self.config.connect_timeout,
            )
            conn.clock.deadline = ends
            try:
                conn.connect()
            except TimeoutError as exc:
                conn.close()
                if ends - time.monotonic() <= 0:
                    raise EgressError(
                        "egress_timeout", f"{url}: connecting to {sockaddr[0]}"
                    ) from exc
                # The connect timeout, with time left: the name's next address may answer.
                last = EgressError("egress_connect_failed", f"{url} at {sockaddr[0]}: {exc}")
                continue
            except ssl.SSLError as exc:
                conn.close()
                raise EgressError("egress_tls_failed", f"{url} at {sockaddr[0]}: {exc}") from exc
            except OSError as exc:
                conn.close()
                last = EgressError("egress_connect_failed", f"{url} at {sockaddr[0]}: {exc}")
                continue
            try:
                return self._exchange(conn, key, request)
            except _StaleConnection as exc:
                raise EgressError("egress_protocol_error", f"{url}: {exc.__cause__}") from exc
        assert last is not None
        raise last

    def _addresses(
        self, host: str, port: int, *, url: str, allowed: bool, ends: float
    ) -> list[tuple[int, tuple[Any, ...]]]:
        try:
            if _is_ip(host):
                found = self._resolve(host, port)
            else:
                # The name's DNS servers are the user's to choose too: the lookup gets the
                # time left, in a thread (getaddrinfo itself cannot be given a timeout).
                lookup = _DNS.submit(self._resolve, host, port)
                found = lookup.result(timeout=max(ends - time.monotonic(), 0.0))
        except FutureTimeout as exc:
            raise EgressError("egress_timeout", f"{host}: no DNS answer in time") from exc
        except (OSError, UnicodeError) as exc:
            raise EgressError("egress_dns_failed", f"{host}: {exc}") from exc
        if not found:
            raise EgressError("egress_dns_failed", f"{host}: no address")
        if not allowed:
            for _, sockaddr in found:
                reason = address_refusal(str(sockaddr[0]))
                if reason is not None:
                    # One bad answer refuses the host: a name that mixes public and internal
                    # addresses is not to be trusted with either.
                    raise EgressError(
                        "egress_address_refused", f"{url}: {host} is {sockaddr[0]} ({reason})"
                    )
        return found

    def _exchange(self, conn: Connection, key: PoolKey, request: _Request) -> EgressResponse:
        reused = conn.idle_since > 0
        response: http.client.HTTPResponse | None = None

        def discard() -> None:
            if response is not None:
                response.close()
            conn.close()

        try:
            conn.request(request.method, request.target, body=request.body, headers=request.headers)
            response = conn.getresponse()
            headers = {name.lower(): value for name, value in response.getheaders()}
            if 300 <= response.status < 400:
                discard()
                raise EgressError(
                    "egress_redirect",
                    f"{request.url} answered {response.status} to "
                    f"{headers.get('location', '(no location)')}",
                )
            declared = headers.get("content-length", "")
            if declared.isdigit() and int(declared) > request.cap:
                discard()
                raise EgressError(
                    "egress_too_large",
                    f"{request.url} declared {declared} bytes (at most {request.cap})",
                )
            chunks: list[bytes] = []
            size = 0
            while True:
                chunk = response.read1(65536)
                if not chunk:
                    break
                size += len(chunk)
                if size > request.cap:
                    discard()
                    raise EgressError(
                        "egress_too_large", f"{request.url} sent over {request.cap} bytes"
                    )
                chunks.append(chunk)
            if not response.isclosed():
                # read1 returns b"" at the end of a Content-Length body without marking the
                # response done, which the connection needs before its next request.
                response.read()
        except EgressError:
            raise
        except TimeoutError as exc:
            discard()
            raise EgressError("egress_timeout", f"{request.url}: {exc or 'deadline'}") from exc
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
            discard()
            if reused and response is None:
                raise _StaleConnection() from exc
            raise EgressError("egress_protocol_error", f"{request.url}: {exc}") from exc
        except (http.client.InvalidURL, ValueError) as exc:
            # http.client refuses a path or a header it cannot send as is.
            discard()
            raise EgressError("egress_url_invalid", f"{request.url}: {exc}") from exc
        except (OSError, http.client.HTTPException) as exc:
            discard()
            raise EgressError("egress_protocol_error", f"{request.url}: {exc!r}") from exc
        if response.will_close:
            conn.close()
        else:
            self._pool.give(key, conn)
        return EgressResponse(
            status=response.status,
            reason=response.reason,
            headers=headers,
            content=b"".join(chunks),
            url=request.url,
        )


@dataclass(frozen=True)
class _Request:
    method: str
    target: str
    body: bytes | None
    headers: dict[str, str]
    cap: int
    url: str


class _StaleConnection(Exception):
    """A kept-alive connection the server had closed: the request never reached it."""
