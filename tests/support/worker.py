"""A real tape worker process (``manage.py tapes_worker``) for tests that need jobs to run while
a live server and a browser are busy: the same command production runs, on the test database,
the suite's Redis database and the test's media folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connections

ROOT = Path(__file__).resolve().parents[2]


def worker_env(media: Path) -> dict[str, str]:
    db = connections["default"].settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tapesite.settings.test",
        "DATABASE_URL": (
            f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        ),
        "REDIS_URL": settings.REDIS_URL,
        "DJANGO_MEDIA_ROOT": str(media),
        # The PDS and PLC origins a test allowlisted (tests/support/pds.py), for federate jobs.
        "TAPES_EGRESS_ALLOWED_ORIGINS": ",".join(settings.TAPES_EGRESS_ALLOWED_ORIGINS),
    }


@contextmanager
def tapes_worker(media: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Run one worker until the block ends (its own process group, so its work horses stop
    with it)."""
    log = open(media.parent / "worker.log", "wb")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "tapes_worker"],
        cwd=ROOT,
        env=worker_env(media),
        start_new_session=True,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        log.close()


def worker_log(media: Path) -> str:
    path = media.parent / "worker.log"
    return path.read_text(errors="replace")[-4000:] if path.exists() else ""
