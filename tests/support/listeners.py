"""Loopback HTTP listeners a test owns: they count every connection and keep every request, and
answer as the test says (plainly, with a redirect, by trickling, with too much). Used to show what
the egress client sends where, and what it never connects to.

Each listener binds 127.0.0.1 on a free port; its threads stop when the fixture ends (every wait
is bounded by a short timeout and the stop flag)."""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

Behaviour = Callable[["Listener", socket.socket], None]


@dataclass
class Listener:
    behaviour: Behaviour
    sock: socket.socket = field(default_factory=socket.socket)
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        thread = threading.Thread(target=self._accept, daemon=True)
        thread.start()
        self.threads.append(thread)

    def _accept(self) -> None:
        while not self.stop.is_set():
            readable, _, _ = select.select([self.sock], [], [], 0.1)
            if not readable:
                continue
            conn, _ = self.sock.accept()
            self.connections += 1
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            thread.start()
            self.threads.append(thread)

    def _serve(self, conn: socket.socket) -> None:
        # The client going away (OSError) is often the point.
        with conn, contextlib.suppress(OSError):
            conn.settimeout(5)
            self.behaviour(self, conn)

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=10)
        self.sock.close()

    def read_request(self, conn: socket.socket) -> bytes | None:
        """One request (head and Content-Length body) off ``conn``; None when it closed."""
        data = b""
        while b"\r\n\r\n" not in data:
            try:
                chunk = conn.recv(65536)
            except TimeoutError:
                return None
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                break
            body += chunk
        request = head + b"\r\n\r\n" + body
        self.requests.append(request)
        return request


def respond(
    status: str = "200 OK", body: bytes = b"{}", headers: dict[str, str] | None = None
) -> Behaviour:
    """Answer every request on a connection (kept alive) with the same response."""

    def behave(listener: Listener, conn: socket.socket) -> None:
        while not listener.stop.is_set():
            if listener.read_request(conn) is None:
                return
            extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
            conn.sendall(
                f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode() + body
            )

    return behave


def trickle(head: bytes, *, every: float = 2.0, count: int = 60) -> Behaviour:
    """Send ``head`` at once, then one byte every ``every`` seconds (``count`` at most)."""

    def behave(listener: Listener, conn: socket.socket) -> None:
        listener.read_request(conn)
        conn.sendall(head)
        for _ in range(count):
            if listener.stop.wait(every):
                return
            conn.sendall(b"x")

    return behave


def silent() -> Behaviour:
    """Accept, then say nothing (not even a TLS handshake) until the test ends."""

    def behave(listener: Listener, conn: socket.socket) -> None:
        listener.stop.wait(120)

    return behave


def endless(head: bytes, *, limit: int = 64 * 1024 * 1024) -> Behaviour:
    """Send ``head``, then up to ``limit`` bytes as fast as the client reads them."""

    def behave(listener: Listener, conn: socket.socket) -> None:
        listener.read_request(conn)
        conn.sendall(head)
        sent = 0
        block = b"x" * 65536
        while sent < limit and not listener.stop.is_set():
            conn.sendall(block)
            sent += len(block)

    return behave


@pytest.fixture
def listener() -> Iterator[Callable[[Behaviour], Listener]]:
    """``listener(behaviour)``: a started loopback listener, closed after the test."""
    started: list[Listener] = []

    def make(behaviour: Behaviour) -> Listener:
        server = Listener(behaviour=behaviour)
        server.start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.close()


def settle(seconds: float = 0.3) -> None:
    """Give a connection that would have been made time to reach the listener's accept."""
    time.sleep(seconds)
