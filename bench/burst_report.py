"""The burst benchmark's figures from its runs, and its section of docs/benchmarks.md."""

from __future__ import annotations

import argparse
import math
import os
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

from drawing import BurstTape
from production import UNLIMITED

if TYPE_CHECKING:
    from burst import Burst

MARK_BEGIN = "<!-- bench:burst:start -->"
MARK_END = "<!-- bench:burst:end -->"


def percentile(values: list[float], p: float) -> float:
    """Nearest rank: the smallest value with at least ``p`` of them at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p * len(ordered)) - 1)] if ordered else float("nan")


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
        # Against ffmpeg's own CPU, without the unzip in this process: the unzip's cost has
        # varied more between runs (14-46 CPU s for the same 200 tapes) than ffmpeg's.
        "ratio_ffmpeg_only": round(
            per_core_minute / (reference["tapes"] / (reference["ffmpeg_cpu_s"] / 60)), 2
        ),
        "alone_per_core_minute": round(alone["tapes"] / (alone["cpu_s"] / 60), 1),
        "p50_s": round(percentile(waits, 0.50), 2),
        "p99_s": round(percentile(waits, 0.99), 2),
        "max_s": round(max(waits, default=float("nan")), 2),
    }


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
        "| FFmpeg (b) per core-minute | ratio | ratio to ffmpeg alone | POST to ready p50 s "
        "| p99 s | max s | first register to last ready s |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        "| ---: |",
    ]
    for r in results:
        once = r["posted"] - len(r["encoded_not_once"])
        lines.append(
            f"| {r['workers']} | {r['posting_s']:.1f} | {r['ready']}/{r['tapes']} "
            f"| {once}/{r['tapes']} | {r['worker_cpu_s']:.0f} | {r['tapes_per_core_minute']} "
            f"| {r['reference_per_core_minute']} | {r['ratio']:.2f}x "
            f"| {r['ratio_ffmpeg_only']:.2f}x | {r['p50_s']} "
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
        f"{reference_cpu / alone['cpu_s']:.2f}x FFmpeg's "
        f"({reference['ffmpeg_cpu_s'] / alone['cpu_s']:.2f}x of ffmpeg alone). "
        "The gap between it and the workers' "
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
        "the unzipped frames, so the ratio flatters FFmpeg. *Ratio to ffmpeg alone* leaves "
        "the reference's unzip out (its CPU has varied from 14 to 46 s for the same 200 tapes "
        "between runs of one day, ffmpeg's own hardly at all): the steadier, stricter figure.",
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
