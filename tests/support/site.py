"""The site as production runs it: gunicorn and RQ workers with ``tapesite.settings.production``
on PostgreSQL, Redis and S3 (SeaweedFS), every process bound to loopback on free ports.

Used by the production-settings tests, the fault run and the benches that run the site
(``bench/production.py``).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import psutil
import requests
from cryptography.fernet import Fernet

from tests.support.services import S3Server, free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]


def production_env(
    *, database_url: str, redis_url: str, s3: S3Server, **extra: str
) -> dict[str, str]:
    """The environment of a production node: everything from the environment, nothing else."""
    inherited = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "AWS_", "TAPES_", "ATPROTO_"))
        and k not in ("DATABASE_URL", "REDIS_URL")
    }
    return {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "tapesite.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "TAPES_STORAGE": "s3",
        "AWS_ACCESS_KEY_ID": s3.access_key,
        "AWS_SECRET_ACCESS_KEY": s3.secret_key,
        "AWS_S3_ENDPOINT_URL": s3.endpoint,
        "ATPROTO_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "TAPES_SITE_URL": "http://127.0.0.1",
        **extra,
    }


def current_database_url() -> str:
    """The URL of the database the test runs on (pytest-django's test database)."""
    from django.db import connections

    db = connections["default"].settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def manage(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def kill_tree(proc: subprocess.Popen[Any], sig: int = signal.SIGKILL) -> None:
    """Signal a process and every descendant (RQ puts work horses in sessions of their own)."""
    try:
        pids = [proc.pid, *(c.pid for c in psutil.Process(proc.pid).children(recursive=True))]
    except psutil.NoSuchProcess:
        pids = [proc.pid]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


class Gunicorn:
    """gunicorn on loopback, or on a test network's ``host`` with ``wrap`` the command prefix that
    enters it (``ip netns exec NAME``: it execs, so the process is still gunicorn's master)."""

    def __init__(
        self,
        env: dict[str, str],
        log: Path,
        *,
        workers: int = 2,
        threads: int = 1,
        host: str = "127.0.0.1",
        wrap: Sequence[str] = (),
    ):
        self.env = env
        self.host = host
        self.wrap = list(wrap)
        self.port = free_port()
        self.log_path = log
        self.workers = workers
        self.threads = threads
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [
                *self.wrap,
                sys.executable,
                "-m",
                "gunicorn",
                "tapesite.wsgi",
                "--bind",
                f"{self.host}:{self.port}",
                "--workers",
                str(self.workers),
                "--threads",
                str(self.threads),
                "--timeout",
                "60",
                "--access-logfile",
                "-" if os.environ.get("TAPES_ACCESS_LOG") else "/dev/null",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

        def answers() -> bool:
            try:
                return requests.get(self.url + "/api/schema/", timeout=5).status_code == 200
            except requests.RequestException:
                return False

        wait_until(answers, 60, f"gunicorn (log: {self.log_path})", self.proc)

    def stop(self) -> None:
        if self.proc is not None:
            kill_tree(self.proc, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                kill_tree(self.proc)
                self.proc.wait(timeout=10)
            self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]


def start_worker(
    env: dict[str, str],
    log: Path,
    *,
    burst: bool = False,
    name: str | None = None,
    wrap: Sequence[str] = (),
) -> subprocess.Popen[bytes]:
    args = [
        *wrap,
        sys.executable,
        "manage.py",
        "tapes_worker",
        *(["--burst"] if burst else []),
        *(["--name", name] if name else []),
    ]
    return subprocess.Popen(
        args,
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


@contextmanager
def gunicorn(env: dict[str, str], log: Path, **options: Any) -> Iterator[Gunicorn]:
    server = Gunicorn(env, log, **options)
    try:
        server.start()
        yield server
    finally:
        server.stop()


class SiteClient:
    """What a browser does: the three-step post (start, upload to storage, register) and reads."""

    def __init__(self, base_url: str, session: requests.Session | None = None) -> None:
        self.base = base_url.rstrip("/")
        self.http = session or requests.Session()

    def start(self, *, piece: str, size: int) -> dict[str, Any]:
        response = self.http.post(
            f"{self.base}/api/tapes/uploads", json={"piece": piece, "bytes": size}, timeout=30
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    def upload(self, ticket: dict[str, Any], content: bytes) -> requests.Response:
        form = ticket["upload"]
        return self.http.post(
            form["url"],
            data=form["fields"],
            files={"file": ("tape.zip", io.BytesIO(content), "application/zip")},
            timeout=60,
        )

    def register(self, ticket: dict[str, Any], **extra: Any) -> requests.Response:
        body = {"slug": ticket["slug"], **extra}
        if "upload_token" in ticket:
            body.setdefault("upload_token", ticket["upload_token"])
        return self.http.post(f"{self.base}/api/tapes", json=body, timeout=30)

    def post(self, content: bytes, *, piece: str = "line") -> requests.Response:
        ticket = self.start(piece=piece, size=len(content))
        sent = self.upload(ticket, content)
        assert sent.status_code in (200, 201, 204), sent.text
        return self.register(ticket)

    def tape(self, code: str) -> dict[str, Any]:
        response = self.http.get(f"{self.base}/api/tapes/{code}", timeout=30)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def wait_for(self, code: str, states: set[str], timeout: float = 120) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            tape = self.tape(code)
            if tape["status"] in states:
                return tape
            if time.monotonic() > deadline:
                raise AssertionError(f"tape {code} still {tape['status']}: {json.dumps(tape)}")
            time.sleep(0.3)
