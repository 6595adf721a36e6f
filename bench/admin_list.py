"""Benchmark: the tapes admin list on many tapes, ours against a stock ModelAdmin.

    .venv/bin/python bench/admin_list.py [--tapes 100000] [--rounds 5] [--write docs/benchmarks.md]

Needs a PostgreSQL server: BENCH_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/tapesite_bench_admin; the database is created if missing and
its tapes are replaced). It fills the table with ``--tapes`` tapes (a third by guests, the rest
by 500 users, 10 % failed, 6 % nuked), runs ANALYZE, then renders the admin change list page
(view + template) for each scenario with both admins, rounds interleaved, and reports the median
wall time and the number of SQL queries.

The reference is what Django gives with the same columns and no care: a stock ModelAdmin
(``owner`` read through the foreign key without ``list_select_related``, the full result count
on, the default paginator, ``icontains`` search over code, slug and username).
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

START = "<!-- bench:admin-list:start -->"
END = "<!-- bench:admin-list:end -->"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/tapesite_bench_admin"
SCENARIOS = [
    ("unfiltered, page 1", {}),
    ("unfiltered, page 100", {"p": "{page}"}),
    ("status = failed", {"status__exact": "failed"}),
    ("nuked", {"nuked__exact": "1"}),
    ("guests, last 7 days", {"kind": "guest", "when__gte": "{week_ago}"}),
    ("search a code", {"q": "{code}"}),
    ("search an owner", {"q": "user7"}),
]


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


def _fill(count: int) -> str:
    from django.db import connection
    from django.utils import timezone

    from accounts.models import User
    from tapes.models import Tape, TapeStatus

    Tape.objects.all().delete()
    User.objects.filter(username__startswith="user").delete()
    owners = User.objects.bulk_create(User(username=f"user{n}") for n in range(500))
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
                status=TapeStatus.FAILED if failed else TapeStatus.READY,
                failure_code="validation_not_zip" if failed else "",
                status_changed_at=when,
                piece="line",
                zip_key=key + ".zip",
                mp4_key="" if failed else key + ".mp4",
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
    return f"b{count // 2:06d}"


def _stock_admin() -> Any:
    from django.contrib import admin

    from tapes.admin.tape import KindFilter
    from tapes.models import Tape
    from tapes.storage import storage_for

    class StockTapeAdmin(admin.ModelAdmin):
        list_display = ["thumbnail", "code", "owner", "when", "status", "nuked"]
        list_filter = ["status", "nuked", KindFilter, ("when", admin.DateFieldListFilter)]
        search_fields = ["code", "slug", "user__username"]
        list_per_page = 50

        @admin.display(description="")
        def thumbnail(self, tape: Tape) -> str:
            return storage_for(tape.bucket).url(tape.thumbnail_key) if tape.thumbnail_key else ""

        def owner(self, tape: Tape) -> str:
            return tape.user.username if tape.user is not None else "guest"

    return StockTapeAdmin(Tape, admin.AdminSite(name="stock"))


def _render(model_admin: Any, params: dict[str, str], user: Any) -> tuple[float, int]:
    from django.db import connection, reset_queries
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/tapes/tape/", params, HTTP_HOST="localhost")
    request.user = user
    connection.force_debug_cursor = True
    reset_queries()
    started = time.perf_counter()
    response = model_admin.changelist_view(request)
    response.render()
    elapsed = time.perf_counter() - started
    queries = len(connection.queries)
    connection.force_debug_cursor = False
    assert response.status_code == 200, response.status_code
    return elapsed, queries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tapes", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()

    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    _setup(url)
    from django.contrib import admin

    from accounts.models import User
    from tapes.models import Tape

    print(f"filling {args.tapes} tapes...", flush=True)
    code = _fill(args.tapes)
    root, _ = User.objects.get_or_create(
        username="bench-root", defaults={"is_staff": True, "is_superuser": True}
    )
    ours = admin.site._registry[Tape]
    stock = _stock_admin()
    week_ago = (datetime.now(UTC) - timedelta(days=7)).replace(microsecond=0).isoformat()

    rows = []
    for label, template in SCENARIOS:
        page = str(min(100, args.tapes // 50))
        params = {k: v.format(code=code, week_ago=week_ago, page=page) for k, v in template.items()}
        times: dict[str, list[float]] = {"ours": [], "stock": []}
        queries: dict[str, int] = {}
        _render(ours, params, root)  # warm caches and templates
        _render(stock, params, root)
        for _ in range(args.rounds):
            for name, model_admin in (("ours", ours), ("stock", stock)):
                elapsed, count = _render(model_admin, params, root)
                times[name].append(elapsed)
                queries[name] = count
        ours_ms = statistics.median(times["ours"]) * 1000
        stock_ms = statistics.median(times["stock"]) * 1000
        rows.append((label, ours_ms, queries["ours"], stock_ms, queries["stock"]))
        print(
            f"{label:24} ours {ours_ms:8.1f} ms {queries['ours']:3} q | "
            f"stock {stock_ms:8.1f} ms {queries['stock']:3} q | {stock_ms / ours_ms:5.1f}x",
            flush=True,
        )

    if args.write:
        _write(args.write, rows, args)


def _write(target: Path, rows: list[tuple[str, float, int, float, int]], args: Any) -> None:
    import django

    cores = os.cpu_count()
    lines = [
        START,
        "## The tapes admin list (`bench/admin_list.py`)",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d} on {cores} cores, "
        f"Python {platform.python_version()}, "
        f"Django {django.get_version()}, PostgreSQL (local), {args.tapes:,} tapes (a third by "
        "guests, 500 users, 10 % failed, 6 % nuked), ANALYZEd. Each figure is the median of "
        f"{args.rounds} renders of the change list (view and template, 50 rows), ours and the "
        "stock ModelAdmin interleaved. *Stock* has the same columns and filters but no "
        "`list_select_related`, the full result count, the default paginator and `icontains` "
        "search. Queries are the page's own (a signed-in request adds the session and user "
        "lookups, and a non-superuser's two permission queries). The machine was shared with "
        "other work: read the ratios, not the absolute times.",
        "",
        "    .venv/bin/python bench/admin_list.py --tapes 100000 --write docs/benchmarks.md",
        "",
        "| scenario | ours ms | ours queries | stock ms | stock queries | stock / ours |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, ours_ms, ours_q, stock_ms, stock_q in rows:
        lines.append(
            f"| {label} | {ours_ms:.1f} | {ours_q} | {stock_ms:.1f} | {stock_q} | "
            f"{stock_ms / ours_ms:.1f}x |"
        )
    lines.append(END)
    section = "\n".join(lines)
    text = target.read_text() if target.exists() else "# Benchmarks\n"
    if START in text:
        before, rest = text.split(START, 1)
        after = rest.split(END, 1)[1]
        text = before + section + after
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    target.write_text(text)


if __name__ == "__main__":
    main()
