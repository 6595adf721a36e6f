"""Burst benchmark: 200 recorder-sized tapes posted within 20 s, encoded by one and by two workers.

The site as production runs it (gunicorn, RQ workers, PostgreSQL, Redis and SeaweedFS S3, all on
loopback; bench/production.py), one fresh site per run. The tapes look like the recorder's: 1x,
256x192, 3-10 s of drawing at 60 fps (strokes accumulating on a plain ground, the pen lifted now
and then, frame times jittered as a browser's are), one deterministic seed each, made by
bench/drawing.py and cached in .cache/bench/burst. They are posted as a browser posts (start a
slot, send the ZIP to S3 with the presigned form, register), as guests, spread evenly over the
window by a few concurrent clients, while the workers encode.

Measured, per run:

- tapes per core-minute: tapes encoded / CPU minutes (user + system, from /proc through psutil)
  of the worker processes and their children (RQ forks a work horse per job and reaps it, so
  the horses' time lands in the worker's children's time), between the workers being idle
  before the burst and the last tape ready; against the frame-exact FFmpeg pipeline
  (bench/encode.py's variant (b)) over the same tapes in the same run, before the bursts and
  again after them (their mean; both shown), its CPU the ffmpeg processes' plus the unzip in
  this process;
- p50/p99 from the register request being sent to the tape's status becoming ``ready`` (the
  ``status_changed_at`` PostgreSQL wrote for it, same clock);
- that every tape is ready and was encoded once: ``Tape.attempts`` (raised by one each time an
  encode starts) is 1, and the workers' status log (``tapes.transitions`` JSON lines) has
  exactly one ``-> processing`` and one ``-> ready`` per tape.

    .venv/bin/python bench/burst.py --write      # 200 tapes, 1 then 2 workers
    .venv/bin/python bench/burst.py --quick      # 30 tapes, to try it
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from burst_report import MARK_BEGIN, MARK_END, render, summarise  # noqa: E402
from drawing import CACHE, BurstTape, ensure_tapes  # noqa: E402
from production import (  # noqa: E402
    DEFAULT_DATABASE_URL,
    running_site,
    uptime,
    write_section,
)

# --- the reference ------------------------------------------------------------------------------


def ffmpeg_reference(tapes: list[BurstTape], workdir: Path) -> dict[str, float]:
    """bench/encode.py's frame-exact FFmpeg pipeline over every tape, one after another; run
    before any server, so the children this process reaps meanwhile are ffmpeg's alone."""
    from encode import run_ffmpeg

    out = workdir / "ffmpeg"
    out.mkdir(parents=True, exist_ok=True)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    own, started = time.process_time(), time.perf_counter()
    for tape in tapes:
        run_ffmpeg(tape.path, out, exact=True)
    wall = time.perf_counter() - started
    own = time.process_time() - own
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    ffmpeg = (after.ru_utime - children.ru_utime) + (after.ru_stime - children.ru_stime)
    return {"tapes": len(tapes), "ffmpeg_cpu_s": ffmpeg, "unzip_cpu_s": own, "wall_s": wall}


def mean_reference(before: dict[str, float], after: dict[str, float]) -> dict[str, Any]:
    """The reference run before the bursts and again after them, averaged: on a shared machine
    one run of it has come out 40 % apart from another day's, so the drift within this run is
    shown beside the ratio instead of hidden in it."""
    merged: dict[str, Any] = {key: (before[key] + after[key]) / 2 for key in before}
    merged["tapes"] = before["tapes"]
    merged["runs_cpu_s"] = [run["ffmpeg_cpu_s"] + run["unzip_cpu_s"] for run in (before, after)]
    return merged


def encoder_alone(count: int) -> dict[str, float]:
    """Our encoder over the same tapes, one after another in one fresh process, as the job runs it
    (check the ZIP, find the held frames, MP4 + thumbnail + preview + GIF) but with nothing else:
    no S3, database, queue, fork or posting load. Beside the burst's figure it tells the
    encoder's cost from the pipeline's."""
    done = subprocess.run(
        [sys.executable, __file__, "--encoder-alone-inner", "--tapes", str(count)],
        capture_output=True,
        text=True,
        timeout=1800,
        check=True,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def encoder_alone_inner(count: int) -> None:
    from PIL import Image

    from tapes import archive, encoder

    Image.init()  # as the worker does before it forks
    tapes = ensure_tapes(count)
    with tempfile.TemporaryDirectory(prefix="tapesite-burst-alone-") as tmp:
        out = Path(tmp)
        cpu, started = time.process_time(), time.perf_counter()
        for tape in tapes:
            info = archive.inspect_archive(tape.path)
            kept, held_ms = archive.distinct_frames(tape.path, info)
            encoder.render_tape(
                lambda: archive.iter_frames(tape.path, info, only=kept),  # noqa: B023
                held_ms,
                info.width,
                info.height,
                mp4_path=out / "t.mp4",
                thumbnail_path=out / "t.webp",
                preview_path=out / "p.webp",
                gif_path=out / "t.gif",
            )
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu
    print(json.dumps({"tapes": len(tapes), "cpu_s": cpu, "wall_s": wall}))


# --- one burst ----------------------------------------------------------------------------------


def tree_cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of the processes, their live descendants and the children they reaped."""
    import psutil

    total = 0.0
    for pid in pids:
        try:
            root = psutil.Process(pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        for proc in procs:
            try:
                t = proc.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += t.user + t.system + t.children_user + t.children_system
    return total


def settled_cpu_seconds(pids: list[int]) -> float:
    # A work horse that exits between reading its parent and reading it is missed once; the
    # largest of a few readings (the workers are idle by now) is not.
    readings = []
    for _ in range(3):
        readings.append(tree_cpu_seconds(pids))
        time.sleep(0.5)
    return max(readings)


@dataclass
class Posted:
    index: int
    code: str = ""
    started: float = 0.0
    registered: float = 0.0
    answered: float = 0.0
    error: str = ""


def post_all(base_url: str, tapes: list[BurstTape], *, window: float, clients: int) -> list[Posted]:
    """Post every tape as a browser does, tape i at ``i * window / n`` seconds from now, from
    ``clients`` concurrent connections."""
    from tests.support.site import SiteClient

    local = threading.local()
    begin = time.time() + 0.2

    def one(tape: BurstTape) -> Posted:
        posted = Posted(index=tape.index)
        time.sleep(max(0.0, begin + tape.index * window / len(tapes) - time.time()))
        if not hasattr(local, "client"):
            local.client = SiteClient(base_url)
        client = local.client
        content = tape.path.read_bytes()
        posted.started = time.time()
        try:
            ticket = client.start(piece="burst", size=len(content))
            sent = client.upload(ticket, content)
            if sent.status_code not in (200, 201, 204):
                posted.error = f"upload {sent.status_code}: {sent.text[:200]}"
                return posted
            posted.registered = time.time()
            answer = client.register(ticket)
            posted.answered = time.time()
            # Only the code is read: what status the answer shows depends on how much of the
            # work registering does, which is changing.
            if not 200 <= answer.status_code < 300:
                posted.error = f"register {answer.status_code}: {answer.text[:200]}"
                return posted
            posted.code = str(answer.json()["code"])
        except Exception as exc:
            posted.error = f"{type(exc).__name__}: {exc}"[:300]
        return posted

    with ThreadPoolExecutor(clients, thread_name_prefix="burst-client") as pool:
        return list(pool.map(one, tapes))


def wait_settled(database_url: str, codes: list[str], deadline: float) -> None:
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        while True:
            row = conn.execute(
                "SELECT count(*) FROM tapes_tape "
                "WHERE code = ANY(%s) AND status IN ('ready', 'failed')",
                (codes,),
            ).fetchone()
            if row is not None and row[0] == len(codes):
                return
            if time.time() > deadline:
                raise TimeoutError(f"{row and row[0]} of {len(codes)} tapes settled in time")
            time.sleep(0.5)


def tape_rows(database_url: str, codes: list[str]) -> dict[str, dict[str, Any]]:
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        rows = conn.execute(
            "SELECT code, status, attempts, failure_code, status_changed_at, created_at "
            "FROM tapes_tape WHERE code = ANY(%s)",
            (codes,),
        ).fetchall()
    return {row["code"]: row for row in rows}


def transitions(log: str) -> dict[str, Counter[str]]:
    """Per tape code, how many times the log shows it entering each status."""
    seen: dict[str, Counter[str]] = {}
    for line in log.splitlines():
        if not line.startswith("{"):
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("event") == "tape_status":
            seen.setdefault(str(entry["code"]), Counter())[str(entry["to"])] += 1
    return seen


def wait_listening(logs: list[Path], deadline: float) -> None:
    while not all(p.exists() and "Listening on" in p.read_text(errors="replace") for p in logs):
        if time.time() > deadline:
            raise TimeoutError(f"workers did not start: {[str(p) for p in logs]}")
        time.sleep(0.3)


@dataclass
class Burst:
    workers: int
    posted: list[Posted]
    rows: dict[str, dict[str, Any]]
    logs: list[dict[str, Counter[str]]]
    cpu_s: float
    settled_at: float
    extra: dict[str, Any] = field(default_factory=dict)


def run_burst(tapes: list[BurstTape], workers: int, args: argparse.Namespace, tmp: Path) -> Burst:
    import signal as signals
    import subprocess

    from tests.support.site import kill_tree, start_worker

    workdir = tmp / f"workers-{workers}"
    workdir.mkdir()
    with running_site(
        workdir=workdir,
        database_url=args.database_url,
        workers=args.gunicorn_workers,
        threads=args.threads,
    ) as site:
        logs = [workdir / f"worker-{i}.log" for i in range(workers)]
        procs = [start_worker(site.env, log, name=f"burst-{i}") for i, log in enumerate(logs)]
        try:
            wait_listening(logs, time.time() + 90)
            time.sleep(1)  # past start-up (imports, the first reconcile): idle
            pids = [p.pid for p in procs]
            cpu_before = tree_cpu_seconds(pids)
            print(f"{workers} worker(s): posting {len(tapes)} tapes", file=sys.stderr)
            posted = post_all(site.server.url, tapes, window=args.window, clients=args.clients)
            codes = [p.code for p in posted if p.code]
            wait_settled(site.database_url, codes, time.time() + args.timeout)
            settled_at = time.time()
            cpu = settled_cpu_seconds(pids) - cpu_before
            rows = tape_rows(site.database_url, codes)
        finally:
            for proc in procs:
                kill_tree(proc, signals.SIGTERM)
            for proc in procs:
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    kill_tree(proc)
                    proc.wait(timeout=10)
        seen = [transitions(log.read_text(errors="replace")) for log in logs]
    return Burst(workers, posted, rows, seen, cpu, settled_at)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tapes", type=int, default=None, help="tapes per run (200)")
    parser.add_argument("--quick", action="store_true", help="30 tapes")
    parser.add_argument("--window", type=float, default=20, help="seconds to post them in")
    parser.add_argument("--clients", type=int, default=16, help="concurrent posting clients")
    parser.add_argument("--runs", default="1,2", help="workers of each run (1,2)")
    parser.add_argument("--gunicorn-workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument(
        "--timeout", type=float, default=900, help="seconds a run may take to settle"
    )
    parser.add_argument(
        "--hard-timeout", type=float, default=2700, help="seconds the whole bench may take"
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL),
        help="a database the bench may drop and create",
    )
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    parser.add_argument("--encoder-alone-inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    count = args.tapes or (30 if args.quick else 200)
    if args.encoder_alone_inner:
        encoder_alone_inner(count)
        return 0
    runs = [int(n) for n in args.runs.split(",")]

    def expire(signum: int, frame: Any) -> None:
        raise TimeoutError(f"bench/burst.py ran past --hard-timeout {args.hard_timeout:g} s")

    # The servers are torn down by their context managers as the error unwinds.
    signal.signal(signal.SIGALRM, expire)
    signal.alarm(int(args.hard_timeout))
    load_before = uptime()
    print(f"writing or reusing {count} tapes in {CACHE}", file=sys.stderr)
    tapes = ensure_tapes(count)
    with tempfile.TemporaryDirectory(prefix="tapesite-burst-") as tmp:
        print("FFmpeg reference", file=sys.stderr)
        reference = ffmpeg_reference(tapes, Path(tmp))
        print(json.dumps(reference), file=sys.stderr)
        print("our encoder alone", file=sys.stderr)
        alone = encoder_alone(count)
        print(json.dumps(alone), file=sys.stderr)
        bursts = [run_burst(tapes, workers, args, Path(tmp)) for workers in runs]
        print("FFmpeg reference again", file=sys.stderr)
        reference = mean_reference(reference, ffmpeg_reference(tapes, Path(tmp)))
        print(json.dumps(reference), file=sys.stderr)
        results = [summarise(burst, reference, alone) for burst in bursts]
        for result in results:
            print(json.dumps(result, indent=1, default=str), file=sys.stderr)
    signal.alarm(0)
    section = render(results, reference, alone, tapes, args, (load_before, uptime()))
    print(section)
    if args.write:
        write_section(MARK_BEGIN, MARK_END, section)
    ok = all(
        r["ready"] == r["tapes"] and not r["encoded_not_once"] and not r["post_errors"]
        for r in results
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
