"""Burst benchmark: 200 recorder-sized tapes posted within 20 s, encoded by one and by two workers.

The site as production runs it (gunicorn, RQ workers, PostgreSQL, Redis and SeaweedFS S3, all
on loopback; bench/production.py), one fresh site per run. The tapes look like the recorder's:
1x, 256x192, 3-10 s of drawing at 60 fps (strokes accumulating on a plain ground, the pen lifted
now and then, frame times jittered as a browser's are), one deterministic seed each, cached
in .cache/bench/burst. They are posted as a browser posts (start a slot, send the ZIP to S3 with
the presigned form, register), as guests, spread evenly over the window by a few concurrent
clients, while the workers encode.

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
import math
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from production import (  # noqa: E402
    DEFAULT_DATABASE_URL,
    UNLIMITED,
    running_site,
    uptime,
    write_section,
)

from tests.support.synth import (  # noqa: E402
    encode_png,
    frame_name,
    json_bytes,
    make_durations,
    metadata_document,
    timing_document,
    write_zip,
)

CACHE = ROOT / ".cache" / "bench" / "burst"
MARK_BEGIN = "<!-- bench:burst:start -->"
MARK_END = "<!-- bench:burst:end -->"
WIDTH, HEIGHT, FPS = 256, 192, 60
#: Bumped when the drawing changes, so cached tapes are rewritten.
DRAWING_VERSION = 2
FIRST_SEED = 1000

PAPERS = np.array([(250, 248, 240), (255, 255, 255), (238, 243, 247), (252, 244, 228)], np.uint8)
INKS = np.array(
    [(24, 24, 28), (230, 57, 70), (29, 53, 87), (42, 157, 143), (244, 162, 97), (106, 76, 147)],
    np.uint8,
)


# --- the tapes ----------------------------------------------------------------------------------


def _dab(canvas: np.ndarray, cx: float, cy: float, radius: float, ink: np.ndarray) -> None:
    height, width = canvas.shape[:2]
    x0, x1 = max(0, math.floor(cx - radius)), min(width, math.ceil(cx + radius) + 1)
    y0, y1 = max(0, math.floor(cy - radius)), min(height, math.ceil(cy + radius) + 1)
    if x0 >= x1 or y0 >= y1:
        return
    ys, xs = np.ogrid[y0:y1, x0:x1]
    canvas[y0:y1, x0:x1][(xs - cx) ** 2 + (ys - cy) ** 2 <= radius * radius] = ink


def drawing_frames(
    seed: int, frames: int, *, width: int = WIDTH, height: int = HEIGHT
) -> Iterator[np.ndarray]:
    """What someone drawing makes, frame by frame: a pen wanders (a few pixels a frame, turning
    smoothly, bouncing off the edges) and leaves a round stroke on a plain ground; now and then
    it lifts for a moment and comes down elsewhere in another ink and width. Nothing is erased,
    so each frame is the one before plus at most one short segment."""
    rng = np.random.default_rng([seed, 17])
    canvas = np.empty((height, width, 3), np.uint8)
    canvas[:] = PAPERS[seed % len(PAPERS)]

    def pen_down() -> tuple[float, float, float, np.ndarray, float]:
        return (
            float(rng.uniform(0.15, 0.85) * width),
            float(rng.uniform(0.15, 0.85) * height),
            float(rng.uniform(0, 2 * math.pi)),
            INKS[rng.integers(len(INKS))],
            float(rng.choice([1.0, 1.5, 2.5, 4.0])),
        )

    x, y, heading, ink, radius = pen_down()
    lifted = 0
    for _ in range(frames):
        if lifted:
            lifted -= 1
            if not lifted:
                x, y, heading, ink, radius = pen_down()
        else:
            heading += float(rng.normal(0, 0.3))
            speed = float(rng.uniform(1.5, 4.5))
            nx, ny = x + math.cos(heading) * speed, y + math.sin(heading) * speed
            if not radius <= nx <= width - radius:
                heading = math.pi - heading
                nx = min(max(nx, radius), width - radius)
            if not radius <= ny <= height - radius:
                heading = -heading
                ny = min(max(ny, radius), height - radius)
            steps = max(1, math.ceil(speed))
            for step in range(1, steps + 1):
                t = step / steps
                _dab(canvas, x + (nx - x) * t, y + (ny - y) * t, radius, ink)
            x, y = nx, ny
            if rng.random() < 1 / 50:
                lifted = int(rng.integers(4, 30))
        yield canvas.copy()


@dataclass(frozen=True)
class BurstTape:
    index: int
    seed: int
    frames: int
    path: Path

    @property
    def duration_ms(self) -> float:
        return float(sum(durations(self.frames, self.seed)))


def durations(frames: int, seed: int) -> tuple[float, ...]:
    """~60 fps with a browser's jitter. The recorder keeps recording while the pen is up (the
    picture just repeats), so no long pauses: those are a tab switch, not drawing."""
    return make_durations(frames, seed=seed, pauses=False)


def tape_plan(count: int) -> list[tuple[int, int]]:
    """(seed, frames) of each tape: 3-10 s of drawing at 60 fps, drawn from the seed (a little
    inside the range, so the jitter cannot take a tape out of it)."""
    plan = []
    for index in range(count):
        seed = FIRST_SEED + index
        seconds = float(np.random.default_rng([seed, 5]).uniform(3.05, 9.95))
        plan.append((seed, round(seconds * FPS)))
    return plan


def write_drawing_tape(path: Path, *, seed: int, frames: int) -> None:
    times = durations(frames, seed)
    metadata = metadata_document(
        piece="burst", frames=frames, durations_ms=times, width=WIDTH, height=HEIGHT, scale=1
    )
    entries = (
        (frame_name(i), encode_png(image)) for i, image in enumerate(drawing_frames(seed, frames))
    )
    tail = [
        ("timing.json", json_bytes(timing_document(times))),
        ("metadata.json", json_bytes(metadata)),
    ]
    partial = path.with_suffix(".partial")
    write_zip(partial, [*entries, *tail])
    partial.replace(path)


def ensure_tapes(count: int) -> list[BurstTape]:
    CACHE.mkdir(parents=True, exist_ok=True)
    tapes = []
    for index, (seed, frames) in enumerate(tape_plan(count)):
        path = CACHE / f"drawing-v{DRAWING_VERSION}-{seed}-{frames}f.zip"
        if not path.exists():
            write_drawing_tape(path, seed=seed, frames=frames)
        tapes.append(BurstTape(index=index, seed=seed, frames=frames, path=path))
    return tapes


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


def percentile(values: list[float], p: float) -> float:
    """Nearest rank: the smallest value with at least ``p`` of them at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p * len(ordered)) - 1)] if ordered else float("nan")


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


def summarise(burst: Burst, reference: dict[str, Any], alone: dict[str, float]) -> dict[str, Any]:
    posted = [p for p in burst.posted if p.code]
    rows = burst.rows
    ready = [p for p in posted if rows.get(p.code, {}).get("status") == "ready"]
    waits = [rows[p.code]["status_changed_at"].timestamp() - p.registered for p in ready]
    processing: Counter[str] = Counter()
    readied: Counter[str] = Counter()
    per_worker = []
    for seen in burst.logs:
        per_worker.append(sum(c["ready"] for c in seen.values()))
        for code, counts in seen.items():
            processing[code] += counts["processing"]
            readied[code] += counts["ready"]
    attempts = Counter(int(rows[p.code]["attempts"]) for p in posted if p.code in rows)
    twice = [
        p.code
        for p in posted
        if processing[p.code] != 1
        or readied[p.code] != 1
        or rows.get(p.code, {}).get("attempts") != 1
    ]
    first_register = min((p.registered for p in posted), default=0.0)
    reference_cpu = reference["ffmpeg_cpu_s"] + reference["unzip_cpu_s"]
    per_core_minute = len(ready) / (burst.cpu_s / 60) if burst.cpu_s else 0.0
    reference_per_core_minute = reference["tapes"] / (reference_cpu / 60)
    return {
        "workers": burst.workers,
        "tapes": len(burst.posted),
        "posted": len(posted),
        "post_errors": [p.error for p in burst.posted if p.error],
        "posting_s": max(p.answered for p in posted) - min(p.started for p in posted)
        if posted
        else 0.0,
        "ready": len(ready),
        "failed": [
            (code, row["failure_code"]) for code, row in rows.items() if row["status"] != "ready"
        ],
        "attempts": dict(sorted(attempts.items())),
        "encoded_not_once": twice,
        "per_worker": per_worker,
        "worker_cpu_s": round(burst.cpu_s, 1),
        "wall_s": round(burst.settled_at - first_register, 1),
        "tapes_per_core_minute": round(per_core_minute, 1),
        "reference_per_core_minute": round(reference_per_core_minute, 1),
        "ratio": round(per_core_minute / reference_per_core_minute, 2),
        "alone_per_core_minute": round(alone["tapes"] / (alone["cpu_s"] / 60), 1),
        "p50_s": round(percentile(waits, 0.50), 2),
        "p99_s": round(percentile(waits, 0.99), 2),
        "max_s": round(max(waits, default=float("nan")), 2),
    }


# --- report -------------------------------------------------------------------------------------


def render(
    results: list[dict[str, Any]],
    reference: dict[str, Any],
    alone: dict[str, float],
    tapes: list[BurstTape],
    args: argparse.Namespace,
    load: tuple[str, str],
) -> str:
    frames = [t.frames for t in tapes]
    seconds = [t.duration_ms / 1000 for t in tapes]
    megabytes = sum(t.path.stat().st_size for t in tapes) / 1e6
    reference_cpu = reference["ffmpeg_cpu_s"] + reference["unzip_cpu_s"]
    command = ".venv/bin/python bench/burst.py --write" + (" --quick" if args.quick else "")
    lines = [
        MARK_BEGIN,
        "## Burst: tapes posted at once, per core (`bench/burst.py`)",
        "",
        f"Command: `{command}` (`--quick`: 30 tapes).  ",
        f"Run at {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {os.cpu_count()} cores, "
        "shared: the posting clients, gunicorn, PostgreSQL, Redis and SeaweedFS run on the same "
        f"machine as the workers, and so did other work (load before: `{load[0]}`, after: "
        f"`{load[1]}`); the ratio within the run is the figure to compare.",
        "",
        f"{len(tapes)} tapes like the recorder's: 1x 256x192, drawing (strokes accumulating on a "
        f"plain ground), {min(seconds):.1f}-{max(seconds):.1f} s at 60 fps with a browser's jitter "
        f"({min(frames)}-{max(frames)} frames, {sum(frames):,} in all, "
        f"{megabytes:.0f} MB of ZIPs), seeds {tapes[0].seed}-{tapes[-1].seed}. Each run is a "
        "fresh site with the production settings (gunicorn "
        f"{args.gunicorn_workers}x{args.threads} threads, RQ workers, PostgreSQL, Redis, "
        "SeaweedFS S3, all on 127.0.0.1); the tapes are posted as a browser posts them (start, "
        f"presigned form to S3, register) as guests, evenly over {args.window:g} s from "
        f"{args.clients} concurrent clients. The throttles, the open-upload cap and the guest "
        f"quotas are raised for the bench (`{' '.join(f'{k}={v}' for k, v in UNLIMITED.items())}"
        "`): every client is 127.0.0.1.",
        "",
        "| workers | posted in s | ready | encoded once | worker CPU s | tapes per core-minute "
        "| FFmpeg (b) per core-minute | ratio | POST to ready p50 s | p99 s | max s "
        "| first register to last ready s |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        once = r["posted"] - len(r["encoded_not_once"])
        lines.append(
            f"| {r['workers']} | {r['posting_s']:.1f} | {r['ready']}/{r['tapes']} "
            f"| {once}/{r['tapes']} | {r['worker_cpu_s']:.0f} | {r['tapes_per_core_minute']} "
            f"| {r['reference_per_core_minute']} | {r['ratio']:.2f}x | {r['p50_s']} "
            f"| {r['p99_s']} | {r['max_s']} | {r['wall_s']} |"
        )
    split = "; ".join(
        f"{r['workers']} workers: {' + '.join(map(str, r['per_worker']))}"
        for r in results
        if r["workers"] > 1
    )
    lines += [
        "",
        f"Reference, same tapes, same run: bench/encode.py's frame-exact FFmpeg pipeline (b) "
        f"(`run_ffmpeg(..., exact=True)`: unzip, ffconcat with a duration per frame, "
        f"`ffmpeg ... -fps_mode vfr -c:v libx264 -pix_fmt yuv420p`), one tape after another, "
        f"run before the bursts and again after them: {reference_cpu:.0f} CPU s on average "
        f"({' and '.join(f'{cpu:.0f}' for cpu in reference['runs_cpu_s'])} s; "
        f"{reference['ffmpeg_cpu_s']:.0f} s in ffmpeg, "
        f"{reference['unzip_cpu_s']:.0f} s unzipping), {reference['wall_s']:.0f} s wall.",
        "",
        "Our encoder alone, same tapes, same run (`encoder_alone`: one process, one tape after "
        "another, the job's check of the ZIP, held frames, MP4 + thumbnail + preview + GIF; no "
        f"S3, database, queue, fork or posting load): {alone['cpu_s']:.0f} CPU s, "
        f"{alone['wall_s']:.0f} s wall: {results[0]['alone_per_core_minute'] if results else 0} "
        f"tapes per core-minute, "
        f"{reference_cpu / alone['cpu_s']:.2f}x FFmpeg's. The gap between it and the workers' "
        "figure is what the pipeline around the encoder costs, under the posting load.",
        "",
        "How it is measured:",
        "",
        "- *Tapes per core-minute*: tapes ready / CPU minutes (user + system from /proc, via "
        "psutil) of the worker processes, their live children and the children they reaped: "
        "RQ forks a work horse per job and waits for it, so every encode's CPU lands in its "
        "worker's. Counted from the workers idling before the burst to the last tape ready. "
        "CPU time rather than wall time x cores because the machine is shared: wall time "
        "would charge the workers for time others ran. The workers' CPU is all of a tape's "
        "job (reading the ZIP from S3, checking it, MP4 + thumbnail + preview + GIF at 2x, "
        "writing them to S3, the database, the fork), the reference's only an MP4 at 1x of "
        "the unzipped frames, so the ratio flatters FFmpeg.",
        "- *POST to ready*: from the register request leaving the client to the "
        "`status_changed_at` PostgreSQL stored with `ready` (one clock), nearest-rank "
        "percentiles. It includes waiting in the queue behind the burst, so it grows with "
        "the burst and shrinks with workers.",
        "- *Encoded once*: `Tape.attempts` (raised by one whenever an encode starts, "
        "`tape_encode`) is 1 and the workers' status log (`tapes.transitions` JSON lines) has "
        "exactly one `-> processing` and one `-> ready` for the tape; a second encode, a retry "
        "or a job run by two workers would break one or the other. "
        f"Tapes encoded per worker: {split or '-'}.",
        "- *Posted in*: first start to last register answer (the tapes are spread over the "
        "window, so it is at least the window).",
        "",
        "Goal (issue 20): at least 2x the FFmpeg pipeline's tapes per core-minute.",
        MARK_END,
    ]
    return "\n".join(lines)


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
