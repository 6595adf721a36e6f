"""Benchmark: the Atom feeds and the sitemap on many tapes, full renders and 304s, against the
cheapest answer the site gives (``/healthz``) and a page (the gallery) in the same run.

    .venv/bin/python bench/feeds.py [--tapes 100000] [--rounds 7] [--write docs/benchmarks.md]

Needs a PostgreSQL server: BENCH_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/tapesite_bench_feeds; created if missing, its tapes
replaced). It fills ``--tapes`` tapes (a third by guests, the rest by 500 users, 10 % failed,
6 % nuked, 5 % unlisted), runs ANALYZE, then sends each request through the whole Django stack
(middleware included, Django's test client, no network), rounds interleaved, and reports the
median per request and its ratio to ``/healthz`` measured in the same rounds.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

START = "<!-- bench:feeds:start -->"
END = "<!-- bench:feeds:end -->"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/tapesite_bench_feeds"
PER_ROUND = 10


def _setup(url: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "tapesite.settings.test"
    os.environ["DATABASE_URL"] = url
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _fill(count: int) -> None:
    from django.db import connection
    from django.utils import timezone

    from accounts.models import User
    from tapes.models import Tape, TapeStatus, TapeVisibility

    Tape.objects.all().delete()
    User.objects.filter(username__startswith="user").delete()
    owners = User.objects.bulk_create(
        User(username=f"user{n}", first_name="Person", last_name=str(n)) for n in range(500)
    )
    now = timezone.now()
    batch: list[Tape] = []
    for n in range(count):
        when = now - timedelta(seconds=n * 37)
        owner = None if n % 3 == 0 else owners[n % 500]
        slug = f"line-{when:%Y.%m.%d.%H.%M.%S}.{n % 1000:03d}"
        key = f"users/{owner.pk}/{slug}" if owner else slug
        failed = n % 10 == 0
        batch.append(
            Tape(
                code=f"b{n:06d}",
                slug=slug,
                user=owner,
                when=when,
                bucket="user-tapesite" if owner else "guest-tapesite",
                nuked=n % 17 == 0,
                nuked_at=when if n % 17 == 0 else None,
                visibility=TapeVisibility.UNLISTED if n % 20 == 7 else TapeVisibility.PUBLIC,
                status=TapeStatus.FAILED if failed else TapeStatus.READY,
                failure_code="validation_not_zip" if failed else "",
                status_changed_at=when,
                piece="line",
                title=f"Tape <{n}> & co" if n % 2 else "",
                description="A line\n\nand <another> one" if n % 4 == 1 else "",
                frames=120,
                duration_ms=2000,
                width=256,
                height=192,
                zip_key=key + ".zip",
                mp4_key="" if failed else key + ".mp4",
                mp4_bytes=None if failed else 80_000,
                thumbnail_key="" if failed else key + "-thumb.webp",
                preview_key="" if failed else key + "-preview.webp",
                metadata={"fps": 60, "tool": "bench"},
            )
        )
        if len(batch) == 5000:
            Tape.objects.bulk_create(batch)
            batch = []
    Tape.objects.bulk_create(batch)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _time(client: Any, path: str, headers: dict[str, str], status: int) -> float:
    started = time.perf_counter()
    for _ in range(PER_ROUND):
        response = client.get(path, headers=headers)
        assert response.status_code == status, (path, response.status_code)
    return (time.perf_counter() - started) / PER_ROUND


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tapes", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()

    _setup(os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    from django.conf import settings
    from django.test import Client

    settings.TAPES_SITE_URL = "https://tapes.example"
    print(f"filling {args.tapes} tapes...", flush=True)
    _fill(args.tapes)
    client = Client(HTTP_HOST="localhost")
    site_tag = client.get("/tapes/feed.atom")["ETag"]
    user_tag = client.get("/u/user1/feed.atom")["ETag"]
    map_tag = client.get("/sitemap-tapes.xml")["ETag"]
    scenarios: list[tuple[str, str, dict[str, str], int]] = [
        ("/healthz (reference)", "/healthz", {}, 200),
        ("/tapes gallery page (24 cards)", "/tapes", {}, 200),
        ("/tapes/feed.atom, 200 (50 entries)", "/tapes/feed.atom", {}, 200),
        (
            "/tapes/feed.atom, 304 (If-None-Match)",
            "/tapes/feed.atom",
            {"If-None-Match": site_tag},
            304,
        ),
        ("/u/user1/feed.atom, 200 (50 entries)", "/u/user1/feed.atom", {}, 200),
        (
            "/u/user1/feed.atom, 304 (If-None-Match)",
            "/u/user1/feed.atom",
            {"If-None-Match": user_tag},
            304,
        ),
        ("/sitemap.xml (index)", "/sitemap.xml", {}, 200),
        ("/sitemap-tapes.xml (first page, 10,000 URLs)", "/sitemap-tapes.xml", {}, 200),
        (
            "/sitemap-tapes.xml, 304 (If-None-Match)",
            "/sitemap-tapes.xml",
            {"If-None-Match": map_tag},
            304,
        ),
    ]
    times: dict[str, list[float]] = {label: [] for label, *_ in scenarios}
    for _label, path, headers, status in scenarios:  # warm up
        _time(client, path, headers, status)
    for _ in range(args.rounds):
        for label, path, headers, status in scenarios:
            times[label].append(_time(client, path, headers, status))
    medians = {label: statistics.median(values) * 1000 for label, values in times.items()}
    reference = medians[scenarios[0][0]]
    page = medians[scenarios[1][0]]
    rows = [(label, ms, ms / reference, ms / page) for label, ms in medians.items()]
    for label, ms, ratio, to_page in rows:
        print(f"{label:46} {ms:8.2f} ms {ratio:7.1f}x {to_page:6.2f}x", flush=True)
    if args.write:
        _write(args.write, rows, args)


def _write(target: Path, rows: list[tuple[str, float, float, float]], args: Any) -> None:
    import django

    lines = [
        START,
        "## Feeds and sitemap (`bench/feeds.py`)",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d} on {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, Django {django.get_version()}, PostgreSQL (local), "
        f"{args.tapes:,} tapes (a third by guests, 500 users, 10 % failed, 6 % nuked, 5 % "
        "unlisted), ANALYZEd. Each request goes through the whole Django stack (Django's test "
        f"client, no network); each figure is the median of {args.rounds} rounds of "
        f"{PER_ROUND} requests, all scenarios interleaved, and its ratios to `/healthz` (answered "
        "by the first middleware: the floor) and to the gallery page in the same rounds. A "
        "feed's 304 runs one query (the feed's ids, changes and authors, on the index "
        "the feed's own query uses) and renders nothing; the tapes sitemap's 304 runs one "
        "aggregate (count and newest change). The machine was shared with other "
        "work: read the ratios, not the absolute times.",
        "",
        "    .venv/bin/python bench/feeds.py --tapes 100000 --write docs/benchmarks.md",
        "",
        "| request | ms | / healthz | / gallery page |",
        "|---|---:|---:|---:|",
    ]
    lines += [
        f"| {label} | {ms:.2f} | {ratio:.1f}x | {to_page:.2f}x |"
        for label, ms, ratio, to_page in rows
    ]
    lines.append(END)
    section = "\n".join(lines)
    text = target.read_text() if target.exists() else "# Benchmarks\n"
    if START in text:
        before, rest = text.split(START, 1)
        text = before + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    target.write_text(text)


if __name__ == "__main__":
    main()
