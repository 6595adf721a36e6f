"""Benchmark: federating a tape to the local reference PDS, session reuse against a login per tape.

    .venv/bin/python bench/federate.py [--tapes N] [--rounds R] [--write docs/benchmarks.md]

Starts its own PLC and PDS (node/pds.mjs, loopback, free ports, rate limits off so the login
variant is not throttled) and a throwaway SQLite database, links one user, and makes N ready tapes
sharing one real MP4 (a synthetic tape encoded once with our encoder). Then, rounds interleaved:

  reuse    ours: ``tape_federate`` with the stored session (the worker's way)
  login    the original plan's way: the stored session is dropped before every tape, so each
           ``tape_federate`` logs in with the app password first (createSession)

Each timing is the whole service call: lock and rkey commit, storage read, lexicon validation,
uploadBlob (MP4 and thumbnail), createRecord, saving ``at``. Reported: median and p90 per tape.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

START = "<!-- bench:federate:start -->"
END = "<!-- bench:federate:end -->"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tapes", type=int, default=20, help="tapes per variant per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--frames", type=int, default=120, help="frames of the synthetic tape")
    parser.add_argument("--write", type=Path, help="update this markdown file's section")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-federate-"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "tapesite.settings.local"
    os.environ["DATABASE_URL"] = f"sqlite:///{work / 'db.sqlite3'}"
    os.environ["DJANGO_MEDIA_ROOT"] = str(work / "media")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:1/0")  # jobs are not used here
    import logging

    import django

    django.setup()
    logging.disable(logging.WARNING)
    from django.conf import settings
    from django.core.management import call_command

    from tests.support.pds import Pds, start_plc

    plc_proc, plc_url = start_plc(work / "plc")
    pds = Pds(workdir=work / "pds", plc_url=plc_url)
    try:
        pds.start()
        settings.ATPROTO_PLC_URL = plc_url
        settings.ATPROTO_HANDLE_RESOLVER_URL = pds.url
        call_command("migrate", verbosity=0)
        results, mp4_bytes = run(pds, work, args)
    finally:
        pds.stop()
        plc_proc.terminate()
    report = render(results, args, mp4_bytes)
    print(report)
    if args.write:
        write_section(args.write, report)


def make_mp4(work: Path, frames: int) -> tuple[bytes, bytes, int, int, int]:
    from tests.support.encoded import encode_synthetic

    tape = encode_synthetic(work, frames=frames, width=256, height=256, scale=6, seed=5)
    return tape.mp4, tape.thumbnail, tape.width, tape.height, tape.frames


def run(pds: Any, work: Path, args: argparse.Namespace) -> tuple[dict[str, list[float]], int]:
    from django.core.files.base import ContentFile

    from accounts.models import User
    from federation.models import AtprotoAccount
    from federation.services import atproto_account_link, tape_federate, tape_federation_start
    from tapes.models import Tape, TapeStatus
    from tapes.storage import bucket_for, sibling_key, storage_for, zip_key

    mp4, thumb, width, height, frames = make_mp4(work, args.frames)
    remote = pds.create_account()
    user = User.objects.create_user(username="bench", password="x")
    account = atproto_account_link(
        user=user, identifier=remote.handle, app_password=remote.app_password
    )
    bucket = bucket_for(user_id=user.pk)
    counter = iter(range(10**9))

    def ready_tape() -> Tape:
        n = next(counter)
        when = datetime(2025, 10, 17, tzinfo=UTC)
        slug = f"bench-2025.10.17.00.00.00.{n:03d}"[:64]
        key = zip_key(user_id=user.pk, slug=f"{slug}-{n}")
        storage = storage_for(bucket)
        storage.save(sibling_key(key, ".mp4"), ContentFile(mp4))
        storage.save(sibling_key(key, "-thumb.webp"), ContentFile(thumb))
        return Tape.objects.create(
            code=f"b{n}",
            slug=f"{slug}-{n}",
            user=user,
            when=when,
            bucket=bucket,
            piece="bench",
            zip_key=key,
            status=TapeStatus.READY,
            status_changed_at=when,
            progress=100,
            frames=frames,
            duration_ms=1000,
            width=width,
            height=height,
            mp4_key=sibling_key(key, ".mp4"),
            mp4_bytes=len(mp4),
            thumbnail_key=sibling_key(key, "-thumb.webp"),
            thumbnail_bytes=len(thumb),
        )

    results: dict[str, list[float]] = {"reuse": [], "login": []}
    # A warm-up tape each way, not counted (first connection, first blob store write).
    for variant in ("reuse", "login"):
        federate_one(ready_tape(), variant, account, tape_federation_start, tape_federate)
    for _ in range(args.rounds):
        for variant in ("reuse", "login"):
            for _ in range(args.tapes):
                results[variant].append(
                    federate_one(
                        ready_tape(), variant, account, tape_federation_start, tape_federate
                    )
                )
    account.refresh_from_db()
    done = AtprotoAccount.objects.get(pk=account.pk)
    expected_logins = 1 + 1 + args.rounds * args.tapes  # link, warm-up, one per login tape
    assert done.logins == expected_logins, (done.logins, expected_logins)
    return results, len(mp4)


def federate_one(tape: Any, variant: str, account: Any, start: Any, federate: Any) -> float:
    from federation.models import AtprotoAccount

    if variant == "login":
        AtprotoAccount.objects.filter(pk=account.pk).update(session="")
    start(tape=tape)
    began = time.perf_counter()
    outcome = federate(tape_id=tape.pk)
    elapsed = time.perf_counter() - began
    assert outcome.state == "done", outcome
    return elapsed * 1000


def render(results: dict[str, list[float]], args: argparse.Namespace, mp4_bytes: int) -> str:
    def p90(values: list[float]) -> float:
        return sorted(values)[max(0, int(len(values) * 0.9) - 1)]

    reuse = statistics.median(results["reuse"])
    lines = [
        START,
        "## Federating a tape (`bench/federate.py`)",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d} on {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, the reference PDS `@atproto/pds` 0.5.35 on loopback "
        f"(node/pds.mjs, rate limits off). {args.rounds} rounds x {args.tapes} tapes per "
        f"variant, interleaved; an MP4 of {mp4_bytes / 1e6:.2f} MB ({args.frames} frames, "
        "1024x1024) plus its thumbnail per tape. Time is the whole `tape_federate` call (row "
        "lock and rkey commit, storage read, lexicon validation, two uploadBlob, createRecord, "
        "saving `at`). Goal: at most 100 ms per tape with session reuse.",
        "",
        "| variant | median ms/tape | p90 ms | vs reuse |",
        "|---|---:|---:|---:|",
    ]
    labels = {
        "reuse": "ours: stored session reused",
        "login": "a login (createSession) per tape, the original plan",
    }
    for variant in ("reuse", "login"):
        values = results[variant]
        median = statistics.median(values)
        lines.append(
            f"| {labels[variant]} | {median:.1f} | {p90(values):.1f} | {median / reuse:.2f}x |"
        )
    lines += [
        "",
        "Reproduce: `.venv/bin/python bench/federate.py --write docs/benchmarks.md` "
        "(after `./scripts/test` or `./scripts/pds` installed Node 22 and node/'s packages).",
        END,
    ]
    return "\n".join(lines)


def write_section(path: Path, section: str) -> None:
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        _, tail = rest.split(END, 1)
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)


if __name__ == "__main__":
    main()
