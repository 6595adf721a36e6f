"""Benchmark: the copy of a tape made for Bluesky's video service against the plain encode.

    .venv/bin/python bench/bluesky_video.py [--rounds R] [--write docs/benchmarks.md]

Synthetic tapes (tests/support/synth.py) of a few drawing sizes; for each, rounds interleaved, in
this process:

  plain    the published MP4 as the encode job makes it (``render_tape``, MP4 only, the default
           encoder settings: the largest even upscale within a 540 long side)
  bluesky  the copy ``bluesky.services.video`` sends (``tapes.services.tape_video_copy``'s
           call): the same encoder with the long side at ``upscale_factor`` x the drawing (the
           largest even factor within 1920x1080) and a 100 MB cap

Reported: the median wall and CPU seconds of each, the copy's against the plain encode's (the
extra work a Bluesky post costs the worker), and both files' size and frame size. Pure: no
Django, no services.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

START = "<!-- bench:bluesky-video:start -->"
END = "<!-- bench:bluesky-video:end -->"

# (name, frames, width, height, pattern)
TAPES = [
    ("shapes-120f-64x64", 120, 64, 64, "shapes"),
    ("shapes-240f-128x72", 240, 128, 72, "shapes"),
    ("shapes-240f-256x256", 240, 256, 256, "shapes"),
    ("flat-60f-32x32", 60, 32, 32, "flat"),
]


def encode(zip_path: Path, variant: str, out: Path) -> dict[str, Any]:
    from bluesky.video import VideoBounds, upscale_factor
    from tapes import archive, encoder

    info = archive.inspect_archive(zip_path, archive.ArchiveLimits())
    settings = encoder.DEFAULT_SETTINGS
    if variant == "bluesky":
        bounds = VideoBounds()
        factor = upscale_factor(info.width, info.height, bounds)
        settings = replace(
            settings,
            max_long_side=max(info.width, info.height) * factor,
            max_bytes=bounds.max_bytes,
        )
    wall, cpu = time.perf_counter(), time.process_time()
    result = encoder.render_tape(
        lambda: archive.iter_frames(zip_path, info),
        info.durations_ms,
        info.width,
        info.height,
        mp4_path=out,
        settings=settings,
    )
    return {
        "wall": time.perf_counter() - wall,
        "cpu": time.process_time() - cpu,
        "bytes": result.mp4_bytes,
        "size": f"{result.width}x{result.height}",
        "factor": result.factor,
        "crf": result.crf,
        "passes": result.passes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--write", type=Path, help="rewrite this file's section")
    args = parser.parse_args()

    from tests.support import synth

    rows: list[dict[str, Any]] = []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-bluesky-") as work:
        workdir = Path(work)
        for name, frames, width, height, pattern in TAPES:
            zip_path = workdir / f"{name}.zip"
            synth.make_tape(
                zip_path, frames=frames, width=width, height=height, scale=1, seed=7,
                pattern=pattern,  # type: ignore[arg-type]
            )  # fmt: skip
            runs: dict[str, list[dict[str, Any]]] = {"plain": [], "bluesky": []}
            for _ in range(args.rounds):
                for variant in runs:
                    runs[variant].append(encode(zip_path, variant, workdir / f"{variant}.mp4"))
            plain_wall = statistics.median(r["wall"] for r in runs["plain"])
            plain_bytes = runs["plain"][-1]["bytes"]
            for variant, results in runs.items():
                wall = statistics.median(r["wall"] for r in results)
                last = results[-1]
                rows.append(
                    {
                        "tape": name,
                        "variant": variant,
                        "wall": wall,
                        "ratio": wall / plain_wall,
                        "cpu": statistics.median(r["cpu"] for r in results),
                        "mb": last["bytes"] / 1e6,
                        "size_ratio": last["bytes"] / plain_bytes,
                        "size": last["size"],
                        "factor": last["factor"],
                        "crf": last["crf"],
                        "passes": last["passes"],
                    }
                )
                print(rows[-1], flush=True)
    section = render(rows, args, load_before, os.getloadavg()[0])
    print(section)
    if args.write:
        write_section(args.write, section)


def render(
    rows: list[dict[str, Any]], args: argparse.Namespace, before: float, after: float
) -> str:
    import av

    lines = [
        START,
        "## The copy sent to Bluesky's video service (`bench/bluesky_video.py`)",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d} on {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, PyAV {av.__version__}. Median of {args.rounds} rounds, "
        "variants interleaved, in one process; load average (1 min) "
        f"{before:.1f} before and {after:.1f} after (a shared machine: the ratios within one run "
        "hold better than the seconds). Synthetic tapes stored at 1x. *plain*: the published "
        "MP4 (default encoder settings, the largest even upscale within a 540 long side); "
        "*bluesky*: the copy `bluesky_video_blob` uploads (the same encoder, the largest even "
        "nearest-neighbour upscale within 1920x1080, at most 100 MB). The copy is made once per "
        "post (a retry polls the saved job), on top of the encode the tape already had.",
        "",
        "| tape | variant | wall s | vs plain | CPU s | MP4 MB | size vs plain | frame | "
        "factor | CRF | passes |",
        "|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['tape']} | {r['variant']} | {r['wall']:.2f} | {r['ratio']:.2f}x | "
            f"{r['cpu']:.2f} | {r['mb']:.2f} | {r['size_ratio']:.2f}x | {r['size']} | "
            f"{r['factor']} | {r['crf']} | {r['passes']} |"
        )
    lines += [
        "",
        "Reproduce: `.venv/bin/python bench/bluesky_video.py --write docs/benchmarks.md`.",
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
