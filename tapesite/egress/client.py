"""The HTTP client for addresses users can influence. Pure: the configuration is passed in.

One call: resolve the host once, refuse a non-global address (unless the URL's origin is on the
allowlist), connect to exactly the address that was checked (so a second DNS answer cannot move
the request elsewhere), speak TLS with the hostname's SNI and certificate, send, refuse a
redirect, and read at most ``max_bytes``, all within one total deadline: every socket operation
gets only the time left, so a server that trickles a byte every few seconds still ends at the
deadline. Connections are kept alive per (origin, address) and shared between threads.
"""

from __future__ import annotations

import base64
import http.client
import io
import ipaddress
import json as jsonlib
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from tapesite.egress.addresses import OriginError, address_refusal, origin, split_url

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

# Node's HTTP server (the reference PDS) closes idle connections after 5 s; reusing one the
# server is closing at that moment would fail the request, so idle ones are dropped sooner.
_IDLE_SECONDS = 4.0
_IDLE_PER_KEY = 4


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


class _Clock:
    """The deadline of the request a connection is serving now."""

    def __init__(self) -> None:
        self.deadline = 0.0

    def remaining(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("deadline passed")
        return left


class _DeadlineReader(io.RawIOBase):
    """Socket reads that each wait at most until the request's deadline."""

    def __init__(self, owner: _DeadlineSocket) -> None:
        self._owner = owner

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        sock = self._owner.sock
        sock.settimeout(self._owner.clock.remaining())
        return sock.recv_into(buffer)

    def close(self) -> None:
        if not self.closed:
            self._owner.release()
        super().close()


class _DeadlineSocket:
    """What http.client sees as its socket: sends and reads bounded by the deadline. Like a
    socket's own makefile, closing waits until the response reading from it is closed too
    (http.client closes the connection of a ``Connection: close`` answer before reading it)."""

    def __init__(self, sock: socket.socket, clock: _Clock) -> None:
        self.sock = sock
        self.clock = clock
        self._readers = 0
        self._closing = False

    def sendall(self, data: Any) -> None:
        # Since Python 3.5 the timeout bounds the whole sendall, not each chunk.
        self.sock.settimeout(self.clock.remaining())
        self.sock.sendall(data)

    def makefile(self, mode: str = "rb", *args: Any, **kwargs: Any) -> io.BufferedReader:
        self._readers += 1
        return io.BufferedReader(_DeadlineReader(self))

    def release(self) -> None:
        self._readers -= 1
        if self._closing and self._readers <= 0:
            self.sock.close()

    def close(self) -> None:
        self._closing = True
        if self._readers <= 0:
            self.sock.close()

    def dropped(self) -> bool:
        """True when the peer closed (or sent something unasked) while the connection idled."""
        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sock, name)


class _Connection(http.client.HTTPConnection):
    """An HTTP(S) connection to one checked address, named by its hostname (Host, SNI, the
    certificate's name)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        family: int,
        sockaddr: tuple[Any, ...],
        tls: ssl.SSLContext | None,
        connect_timeout: float,
    ) -> None:
        super().__init__(host, port, timeout=connect_timeout)
        # So the Host header carries no port when it is the scheme's own.
        self.default_port = 443 if tls is not None else 80
        self.clock = _Clock()
        self._family = family
        self._sockaddr = sockaddr
        self._tls = tls
        self._connect_timeout = connect_timeout
        self.idle_since = 0.0

    def connect(self) -> None:
        raw = socket.socket(self._family, socket.SOCK_STREAM)
        try:
            raw.settimeout(min(self._connect_timeout, self.clock.remaining()))
            raw.connect(self._sockaddr)
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock: socket.socket = raw
            if self._tls is not None:
                sock = self._tls.wrap_socket(
                    raw, server_hostname=self.host, do_handshake_on_connect=False
                )
                self._handshake(sock)
        except BaseException:
            raw.close()
            raise
        self.sock = _DeadlineSocket(sock, self.clock)

    def _handshake(self, sock: ssl.SSLSocket) -> None:
        # Non-blocking, so a server that trickles its handshake still ends at the deadline (a
        # blocking handshake would give every one of its reads the whole time left).
        sock.setblocking(False)
        while True:
            try:
                sock.do_handshake()
                return
            except ssl.SSLWantReadError:
                ready = select.select([sock], [], [], self.clock.remaining())[0]
            except ssl.SSLWantWriteError:
                ready = select.select([], [sock], [], self.clock.remaining())[1]
            if not ready:
                raise TimeoutError("TLS handshake: deadline passed")


_PoolKey = tuple[str, tuple[Any, ...]]


@dataclass
class ConnectionPool:
    """Idle keep-alive connections per (origin, address); thread-safe."""

    _idle: dict[_PoolKey, list[_Connection]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, key: _PoolKey) -> _Connection | None:
        with self._lock:
            idle = self._idle.get(key) or []
            while idle:
                conn = idle.pop()
                sock = conn.sock
                fresh = time.monotonic() - conn.idle_since < _IDLE_SECONDS
                if fresh and isinstance(sock, _DeadlineSocket) and not sock.dropped():
                    return conn
                conn.close()
        return None

    def give(self, key: _PoolKey, conn: _Connection) -> None:
        conn.idle_since = time.monotonic()
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if len(idle) < _IDLE_PER_KEY:
                idle.append(conn)
                return
        conn.close()

    def clear(self) -> None:
        with self._lock:
            for idle in self._idle.values():
                for conn in idle:
                    conn.close()
            self._idle.clear()


SHARED_POOL = ConnectionPool()
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
            key: _PoolKey = (where, sockaddr)
            conn = self._pool.take(key)
            if conn is not None:
                conn.clock.deadline = ends
                try:
                    return self._exchange(conn, key, request)
                except _StaleConnection:
                    pass  # the server closed it while idle; a fresh one below
            conn = _Connection(
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

    def _exchange(self, conn: _Connection, key: _PoolKey, request: _Request) -> EgressResponse:
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
