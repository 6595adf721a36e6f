"""The local upload endpoint meters a form against the slot's declared size as bytes arrive, over
real HTTP (the live server, a raw socket so the test decides what the client sends and when):
an honest oversized Content-Length is refused before a byte of the body is read; a lying one
and a chunked body never get more than the declared size written; nothing partial is kept."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tapes import services
from tapes.services.uploads import UploadTicket
from tapes.storage import storage_for

pytestmark = pytest.mark.django_db(transaction=True)

DECLARED = 256 * 1024
BOUNDARY = "----tapesitemeter"


class SpoolWatch:
    """Samples the sizes of the upload spool's files while a request runs: the largest file the
    server wrote there, and whether it wrote any."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.largest = 0
        self.seen = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        for _ in range(200_000):  # bounded: at most a few seconds of sampling per phase
            if self._stop.is_set():
                return
            try:
                entries = list(os.scandir(self.folder))
            except OSError:
                entries = []
            for entry in entries:
                try:
                    size = entry.stat().st_size
                except OSError:  # deleted between listing and stat
                    continue
                self.seen += 1
                self.largest = max(self.largest, size)
            time.sleep(0.0005)

    def wait_for_a_file(self, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while self.seen == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert self.seen, "the server never spooled the file: the test would prove nothing"

    @contextmanager
    def running(self) -> Iterator[SpoolWatch]:
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join(timeout=10)


@pytest.fixture
def spool(settings: Any, tmp_path: Path) -> Path:
    folder = tmp_path / "spool"
    folder.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(folder)
    return folder


@pytest.fixture
def ticket(live_server: Any) -> UploadTicket:
    return services.tape_upload_start(
        user=None, piece="meter", size=DECLARED, base_url=live_server.url, client=""
    )


def form_parts(ticket: UploadTicket) -> tuple[bytes, bytes]:
    """The multipart bytes before the file's content and after it."""
    head = b""
    for name, value in ticket.form.fields.items():
        head += (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        ).encode()
    head += (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="t.zip"\r\n'
        "Content-Type: application/zip\r\n\r\n"
    ).encode()
    return head, f"\r\n--{BOUNDARY}--\r\n".encode()


def connect(ticket: UploadTicket, headers: dict[str, str]) -> socket.socket:
    url = urlsplit(ticket.form.url)
    sock = socket.create_connection((url.hostname or "127.0.0.1", url.port or 80), timeout=20)
    lines = [f"POST {url.path}?{url.query} HTTP/1.1", f"Host: {url.netloc}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines += ["Content-Type: multipart/form-data; boundary=" + BOUNDARY, "Connection: close"]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    return sock


def send_quietly(sock: socket.socket, data: bytes) -> None:
    # The server may already have answered and closed: what it read is what matters.
    with contextlib.suppress(OSError):
        sock.sendall(data)


def answer(sock: socket.socket) -> tuple[int, bytes]:
    """The server's answer, read as far as its own Content-Length (the development server may
    keep the connection open to drain a body the client never sends)."""
    received = b""
    try:
        for _ in range(1000):  # bounded
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
            head, sep, body = received.partition(b"\r\n\r\n")
            lengths = [
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ]
            if sep and (not lengths or len(body) >= lengths[0]):
                break
    except OSError:
        pass
    finally:
        sock.close()
    status_line = received.split(b"\r\n", 1)[0]
    assert status_line.startswith(b"HTTP/1."), received[:200]
    return int(status_line.split()[1]), received.partition(b"\r\n\r\n")[2]


def assert_nothing_kept(ticket: UploadTicket, spool: Path) -> None:
    assert not storage_for(ticket.upload.bucket).exists(ticket.upload.key)
    assert list(spool.iterdir()) == []


def test_an_honest_length_over_the_declared_size_is_refused_before_the_body(
    ticket: UploadTicket, spool: Path
) -> None:
    head, tail = form_parts(ticket)
    length = len(head) + DECLARED + 1024 * 1024 + len(tail)
    with SpoolWatch(spool).running() as watch:
        sock = connect(ticket, {"Content-Length": str(length)})
        # Not a byte of the body is sent: the answer comes without it.
        status, body = answer(sock)
    assert status == 400
    assert b'"upload_too_large"' in body
    assert watch.seen == 0
    assert_nothing_kept(ticket, spool)


def test_a_file_past_the_declared_size_stops_at_it(ticket: UploadTicket, spool: Path) -> None:
    head, tail = form_parts(ticket)
    excess = 8 * 1024  # within the form's framing allowance: the length alone cannot tell
    length = len(head) + DECLARED + excess + len(tail)
    with SpoolWatch(spool).running() as watch:
        sock = connect(ticket, {"Content-Length": str(length)})
        sock.sendall(head + b"z" * DECLARED)
        watch.wait_for_a_file()  # the server is spooling what it was allowed
        send_quietly(sock, b"z" * excess + tail)
        status, body = answer(sock)
    assert status == 400, body
    assert b'"upload_too_large"' in body
    assert 0 < watch.largest <= DECLARED
    assert_nothing_kept(ticket, spool)


def test_a_length_that_lies_low_bounds_what_is_read(ticket: UploadTicket, spool: Path) -> None:
    head, tail = form_parts(ticket)
    # It says the declared size plus a little, then sends a megabyte more than declared.
    length = len(head) + DECLARED + 4 * 1024
    with SpoolWatch(spool).running() as watch:
        sock = connect(ticket, {"Content-Length": str(length)})
        sock.sendall(head + b"z" * DECLARED)
        watch.wait_for_a_file()
        send_quietly(sock, b"z" * (1024 * 1024) + tail)
        status, body = answer(sock)
    assert status == 400, body
    assert b'"upload_too_large"' in body
    assert 0 < watch.largest <= DECLARED
    assert_nothing_kept(ticket, spool)


def test_a_chunked_body_is_not_read_at_all(ticket: UploadTicket, spool: Path) -> None:
    head, tail = form_parts(ticket)
    content = head + b"z" * (DECLARED + 64 * 1024) + tail
    with SpoolWatch(spool).running() as watch:
        sock = connect(ticket, {"Transfer-Encoding": "chunked"})
        send_quietly(sock, f"{len(content):x}\r\n".encode() + content + b"\r\n0\r\n\r\n")
        status, body = answer(sock)
    # Without a length the site reads no body: no file, so no upload.
    assert 400 <= status < 500, body
    assert watch.seen == 0
    assert_nothing_kept(ticket, spool)


def test_a_form_within_the_declared_size_is_stored(ticket: UploadTicket, spool: Path) -> None:
    head, tail = form_parts(ticket)
    content = head + b"z" * DECLARED + tail
    sock = connect(ticket, {"Content-Length": str(len(content))})
    sock.sendall(content)
    status, body = answer(sock)
    assert status == 204, body
    with storage_for(ticket.upload.bucket).open(ticket.upload.key, "rb") as stored:
        assert stored.read() == b"z" * DECLARED
    assert list(spool.iterdir()) == []
