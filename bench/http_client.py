"""A small asyncio HTTP/1.1 client for the benchmarks (bench/load.py, bench/cache.py): keep-alive
connections that a virtual user reuses for a while and then replaces, and multipart bodies for
the presigned upload form. Small on purpose: the client shares the machine with the site it
measures, so it should cost as little CPU as it can.
"""

from __future__ import annotations

import asyncio
import secrets

#: Requests a connection serves before the client opens a new one. gunicorn's worker processes
#: share out connections, not requests: with 16 connections opened once, one process could hold
#: most of them for a whole run and the other idle (/healthz came out at 1,400/s in one run and
#: 3,700/s in the next). Browsers' connections come and go too.
REQUESTS_PER_CONNECTION = 50


class Http:
    """One keep-alive connection at a time; reopens when the server closes it, and after
    REQUESTS_PER_CONNECTION requests."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.served = 0

    async def _open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.served = 0

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        for attempt in (1, 2):
            if self.writer is None:
                await self._open()
            assert self.reader is not None and self.writer is not None
            head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
            head += [f"{k}: {v}" for k, v in (headers or {}).items()]
            head.append(f"Content-Length: {len(body)}")
            self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
            try:
                await self.writer.drain()
                status_line = await self.reader.readline()
                if not status_line:
                    raise ConnectionResetError("closed before answering")
            except (ConnectionResetError, BrokenPipeError):
                await self.close()
                if attempt == 2:
                    raise
                continue
            status = int(status_line.split()[1])
            length: int | None = None
            close = chunked = False
            while True:
                line = await self.reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                name = name.strip().lower()
                if name == "content-length":
                    length = int(value)
                elif name == "transfer-encoding" and "chunked" in value.lower():
                    chunked = True
                elif name == "connection" and "close" in value.lower():
                    close = True
            if chunked:
                payload = b""
                while True:
                    size = int((await self.reader.readline()).split(b";")[0], 16)
                    chunk = await self.reader.readexactly(size + 2)
                    if size == 0:
                        break
                    payload += chunk[:-2]
            elif length is not None:
                payload = await self.reader.readexactly(length) if length else b""
            elif status in (204, 304) or method == "HEAD":
                payload = b""
            else:  # no framing: the body runs to the end of the connection
                payload, close = await self.reader.read(), True
            self.served += 1
            if close or self.served >= REQUESTS_PER_CONNECTION:
                await self.close()
            return status, payload
        raise AssertionError("unreachable")


def multipart(fields: dict[str, str], filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = "tapesite" + secrets.token_hex(8)
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    parts.append(
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{filename}"\r\nContent-Type: application/zip\r\n\r\n'
        ).encode()
        + content
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"
