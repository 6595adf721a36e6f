"""What the benches that run the site as production does share (bench/load.py, bench/burst.py):
its own SeaweedFS (S3) with the site's buckets, its own Redis and a fresh PostgreSQL database,
gunicorn with ``tapesite.settings.production`` on them (everything on loopback), and their
section of docs/benchmarks.md.

Imported as ``production`` by a bench run as ``.venv/bin/python bench/<name>.py`` (its folder is
first on the import path)."""

from __future__ import annotations

import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from tests.support.services import RedisServer, S3Server, seaweedfs  # noqa: E402
from tests.support.site import Gunicorn, manage, production_env  # noqa: E402

BUCKETS = ("user-tapesite", "guest-tapesite")
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/tapesite_bench"

#: The production throttles, caps and guest quotas raised out of the way: every virtual user of
#: a bench comes from 127.0.0.1, one client as far as the limits know. A bench that posts says
#: so in its section.
UNLIMITED: dict[str, str] = {
    **{f"TAPES_THROTTLE_{scope}": "1000000/min" for scope in ("UPLOAD", "POST", "READ", "MEDIA")},
    "TAPES_UPLOAD_MAX_OPEN_PER_CLIENT": "1000000",
    "TAPES_QUOTA_GUEST_TAPES_PER_DAY": "0",
    "TAPES_QUOTA_GUEST_BYTES_PER_DAY": "0",
}


@contextmanager
def fresh_database(url: str) -> Iterator[str]:
    """An empty database at ``url`` (dropped first if it exists), dropped again after."""
    parts = urllib.parse.urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Site:
    env: dict[str, str]
    server: Gunicorn
    s3: S3Server
    database_url: str


@contextmanager
def running_site(
    *,
    workdir: Path,
    database_url: str,
    workers: int = 2,
    threads: int = 4,
    extra_env: dict[str, str] | None = None,
    pages: bool = False,
) -> Iterator[Site]:
    """gunicorn (``workers`` x ``threads``) with the production settings on private S3 and Redis
    and a fresh, migrated database; all stopped (and the database dropped) when the block ends.
    ``pages``: its static files collected too, so pages render."""
    import boto3

    with ExitStack() as stack:
        (workdir / "s3").mkdir(parents=True, exist_ok=True)
        s3 = stack.enter_context(seaweedfs(workdir / "s3"))
        client = boto3.client(
            "s3",
            endpoint_url=s3.endpoint,
            aws_access_key_id=s3.access_key,
            aws_secret_access_key=s3.secret_key,
            region_name="us-east-1",
        )
        for bucket in BUCKETS:
            client.create_bucket(Bucket=bucket)
        redis_server = RedisServer(workdir)
        redis_server.start()
        stack.callback(redis_server.stop)
        database = stack.enter_context(fresh_database(database_url))
        env = production_env(
            database_url=database,
            redis_url=redis_server.url,
            s3=s3,
            DJANGO_LOG_LEVEL="WARNING",
            **{**UNLIMITED, **(extra_env or {})},
        )
        manage(env, "migrate", "--noinput")
        if pages:
            env["DJANGO_STATIC_ROOT"] = str(workdir / "static")
            manage(env, "collectstatic", "--noinput")
        server = Gunicorn(env, workdir / "gunicorn.log", workers=workers, threads=threads)
        server.start()
        stack.callback(server.stop)
        yield Site(env=env, server=server, s3=s3, database_url=database)


def uptime() -> str:
    """The machine's load (the benches share it with whatever else runs)."""
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        import os

        return "load average: " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def write_section(begin: str, end: str, section: str) -> None:
    """Put ``section`` (which starts with ``begin`` and ends with ``end``) into
    docs/benchmarks.md in place of the previous one, or at the end."""
    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if begin in text and end in text:
        before, rest = text.split(begin, 1)
        after = rest.split(end, 1)[1]
        text = before + section + after
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)
