"""Connections to one checked address, bounded by the request's total deadline. Pure.

``Connection`` is an http.client connection that is handed the address to connect to (the
client checked it; nothing resolves the name again), speaks TLS with the hostname's SNI and
certificate, and gives every socket operation, the TLS handshake included, only the time left
until ``clock.deadline``. ``ConnectionPool`` keeps idle ones alive per (origin, address).
"""

from __future__ import annotations

import http.client
import io
import select
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Any

# Node's HTTP server (the reference PDS) closes idle connections after 5 s; reusing one the
# server is closing at that moment would fail the request, so idle ones are dropped sooner.
_IDLE_SECONDS = 4.0
_IDLE_PER_KEY = 4


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


class Connection(http.client.HTTPConnection):
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


PoolKey = tuple[str, tuple[Any, ...]]


@dataclass
class ConnectionPool:
    """Idle keep-alive connections per (origin, address); thread-safe."""

    _idle: dict[PoolKey, list[Connection]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, key: PoolKey) -> Connection | None:
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

    def give(self, key: PoolKey, conn: Connection) -> None:
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
