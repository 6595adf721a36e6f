"""Benchmark: turning a tape ZIP into an MP4, ours against the FFmpeg command line.

    apt-get install -y ffmpeg   # the reference command line (Debian's ffmpeg 5.1)
    .venv/bin/python bench/encode.py [--rounds N] [--quick] [--write docs/benchmarks.md]

Variants, each run in its own child process (so peak RSS is per variant), rounds interleaved:

  a      the original plan as written: unzip to disk, a concat list of ``file``/``duration``
         lines, ``ffmpeg -f concat -safe 0 -i concat.txt -c:v libx264 -pix_fmt yuv420p out.mp4``
  b      the same made frame-exact: ``ffconcat version 1.0``, ``option framerate 1000`` and a
         ``duration`` per file, the last file repeated, ``-fps_mode vfr``; default preset
  c      ours: inspect_archive + iter_frames + render_tape (MP4, thumbnail, preview and GIF)
  c-mp4  ours, the MP4 alone (render_tape without thumbnail_path and preview_path)
  decode inspect_archive + iter_frames alone: the floor for c

Ablations (240-frame tapes only), each (c)'s MP4 only with one thing changed, to say which speed
idea bought what: ``old`` the previous settings (superfast + mbtree at CRF 23, inline swscale,
4x video), ``inline`` swscale in the encoding thread, ``cabac`` CABAC on every rung (no CAVLC
first rung), ``4x`` a 4x (1024x1024) video.

Quality tapes (ours only): the tests' hard cases, a noise-heavy tape near the size cap and one
with frames held for seconds; with the others they give the flat-area table.

Wall times are measured inside the child after its imports. Quality is measured afterwards (not
timed) per time sample, so dropped or extra frames count fairly: for every source frame, the
output frame shown at the source frame's midpoint is compared with it at the output size
(source upscaled with nearest neighbour), converting to RGB with the exact inverse of the matrix
each file's colour tags name (BT.601 when untagged).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
import zipfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from encode_quality import measure  # noqa: E402
from encode_report import floor_check, print_summary, render_markdown, write_section  # noqa: E402
from encode_variants import ABLATION_SETTINGS, ABLATIONS, VARIANTS  # noqa: E402

CACHE = ROOT / ".cache" / "bench"
FFMPEG = shutil.which("ffmpeg") or "/usr/bin/ffmpeg"
SEED = 11


@dataclass(frozen=True)
class TapeSpec:
    frames: int
    scale: int
    #: "shapes" (the bench's tapes), "noisy" (5 % noise pixels, near the cap), "held" (frames
    #: held for 4 s): the last two are the tests' hard cases, run for quality (ours only).
    kind: str = "shapes"

    @property
    def name(self) -> str:
        return f"{self.kind}-{self.frames}f-{self.scale}x"

    @property
    def path(self) -> Path:
        return CACHE / "tapes" / f"{self.name}-seed{SEED}.zip"

    def variants(self, ablations: bool) -> tuple[str, ...]:
        if self.kind != "shapes":
            return ("c",)
        extra = ABLATIONS if ablations and self.frames == 240 else ()
        return (*VARIANTS, *extra)


# --------------------------------------------------------------------------------------------
# Child side: one variant, one tape, timed


def _rss_now_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _cpu_seconds() -> float:
    """User + system CPU of this process and its waited-for children (ffmpeg): unlike wall time,
    barely moved by other work on a shared machine."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def _unzip(tape: Path, work: Path) -> list[dict[str, Any]]:
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    with zipfile.ZipFile(tape) as zf:
        zf.extractall(work)
    rows: list[dict[str, Any]] = json.loads((work / "timing.json").read_text())
    return rows


def _write_concat(work: Path, rows: list[dict[str, Any]], exact: bool) -> Path:
    lines = ["ffconcat version 1.0"] if exact else []
    for row in rows:
        lines.append(f"file '{row['filename']}'")
        if exact:
            lines.append("option framerate 1000")
        lines.append(f"duration {row['duration'] / 1000:.6f}")
    if exact:  # the concat demuxer ignores the last duration unless another file follows
        lines += [f"file '{rows[-1]['filename']}'", "option framerate 1000"]
    path = work / "concat.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_ffmpeg(tape: Path, out: Path, exact: bool) -> None:
    """Variant (a), or (b) with ``exact``, writing ``out/out.mp4``; also bench/burst.py's
    reference (one at a time: the working folder is shared)."""
    work = CACHE / "work" / ("b" if exact else "a")
    rows = _unzip(tape, work)
    concat = _write_concat(work, rows, exact)
    command = [FFMPEG, "-nostdin", "-v", "error", "-y", "-f", "concat", "-safe", "0"]
    command += ["-i", str(concat)]
    if exact:
        command += ["-fps_mode", "vfr"]
    command += ["-c:v", "libx264", "-pix_fmt", "yuv420p", str(out / "out.mp4")]
    subprocess.run(command, check=True)
    shutil.rmtree(work)


def _run_ours(tape: Path, out: Path, variant: str) -> dict[str, Any]:
    from tapes import encoder
    from tapes.archive import distinct_frames, inspect_archive, iter_frames

    info = inspect_archive(tape)
    if variant == "decode":
        count = sum(1 for _ in iter_frames(tape, info))
        return {"frames": count}
    mp4_only = variant != "c"
    settings = encoder.EncodeSettings(**ABLATION_SETTINGS.get(variant, {}))
    # As the encode job does: a held picture is one frame (docs/encoding.md, "Held frames").
    kept, held_ms = distinct_frames(tape, info)
    result = encoder.render_tape(
        lambda: iter_frames(tape, info, only=kept),
        held_ms,
        info.width,
        info.height,
        mp4_path=out / "out.mp4",
        # MP4 only: the same passes without the thumbnail and preview.
        thumbnail_path=None if mp4_only else out / "thumb.webp",
        preview_path=None if mp4_only else out / "preview.webp",
        gif_path=None if mp4_only else out / "tape.gif",
        settings=settings,
    )
    return {"result": result.as_dict()}


def child(variant: str, tape: Path, out: Path) -> None:
    if variant not in ("a", "b"):
        import av  # noqa: F401 - imports before the clock starts, as a worker has them loaded
        import numpy  # noqa: F401

        import tapes.archive
        import tapes.encoder  # noqa: F401
    out.mkdir(parents=True, exist_ok=True)
    baseline = _rss_now_mb()
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    extra: dict[str, Any] = {}
    if variant in ("a", "b"):
        run_ffmpeg(tape, out, exact=variant == "b")
    else:
        extra = _run_ours(tape, out, variant)
    seconds = time.perf_counter() - started
    cpu_seconds = _cpu_seconds() - cpu_started
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    report = {"seconds": seconds, "cpu_seconds": cpu_seconds, "rss_mb": own}
    report["child_rss_mb"] = children
    print(json.dumps({**report, "baseline_rss_mb": baseline, **extra}))


# --------------------------------------------------------------------------------------------
# Parent side: tapes and rounds (quality: bench/encode_quality.py; report: bench/encode_report.py)


def ensure_tape(spec: TapeSpec) -> Any:
    """Write the tape once into the cache; describe it with the durations its timing.json holds."""
    from tapes.archive import inspect_archive
    from tests.support.synth import SynthTape, make_tape

    spec.path.parent.mkdir(parents=True, exist_ok=True)
    if not spec.path.exists():
        print(f"writing {spec.path.name} ...", file=sys.stderr, flush=True)
        partial = spec.path.with_suffix(".partial")
        make_tape(partial, **_tape_kwargs(spec))
        partial.replace(spec.path)
    info = inspect_archive(spec.path)
    kwargs = _tape_kwargs(spec)
    return SynthTape(
        path=spec.path,
        durations_ms=info.durations_ms,
        width=info.width,
        height=info.height,
        scale=info.scale,
        frames=info.frames,
        seed=SEED,
        noise=kwargs.get("noise", 0.01),
    )


def _tape_kwargs(spec: TapeSpec) -> dict[str, Any]:
    """What make_tape gets for a spec (the noisy and held tapes are the tests' hard cases)."""
    from tests.support.synth import make_durations

    kwargs: dict[str, Any] = {"frames": spec.frames, "scale": spec.scale, "seed": SEED}
    if spec.kind == "noisy":
        kwargs.update(noise=0.05, pauses=False)
    elif spec.kind == "held":
        durations = list(make_durations(spec.frames, seed=SEED, pauses=False))
        for index in range(10, spec.frames, 40):
            durations[index] = 4000.0
        kwargs["durations_ms"] = durations
    return {**kwargs, "piece": "bench"}


def run_child(variant: str, spec: TapeSpec) -> dict[str, Any]:
    out = CACHE / "runs" / spec.name / variant
    command = [sys.executable, __file__, "--child", variant, str(spec.path), str(out)]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    report["rss_peak_mb"] = max(report["rss_mb"], report["child_rss_mb"])
    return report


def benchmark(specs: list[TapeSpec], rounds: int, ablations: bool) -> dict[str, Any]:
    from tests.support.video import flat_error

    tapes = {spec: ensure_tape(spec) for spec in specs}
    runs: dict[tuple[TapeSpec, str], list[dict[str, Any]]] = {}
    load_before = os.getloadavg()
    for round_ in range(rounds):
        for spec in specs:
            for variant in spec.variants(ablations):
                print(f"round {round_ + 1}/{rounds} {spec.name} {variant}", file=sys.stderr)
                runs.setdefault((spec, variant), []).append(run_child(variant, spec))
    rows = []
    for spec in specs:
        tape = tapes[spec]
        for variant in spec.variants(ablations):
            reports = runs[(spec, variant)]
            row: dict[str, Any] = {
                "tape": spec.name,
                "frames": spec.frames,
                "scale": spec.scale,
                "source_ms": round(sum(tape.durations_ms), 1),
                "variant": variant,
                "seconds": statistics.median(r["seconds"] for r in reports),
                "cpu_seconds": statistics.median(r["cpu_seconds"] for r in reports),
                "all_seconds": [round(r["seconds"], 3) for r in reports],
                "rss_mb": max(r["rss_peak_mb"] for r in reports),
                "baseline_rss_mb": reports[0]["baseline_rss_mb"],
            }
            mp4 = CACHE / "runs" / spec.name / variant / "out.mp4"
            if variant != "decode":
                print(f"measuring {spec.name} {variant}", file=sys.stderr)
                row["quality"] = asdict(measure(mp4, tape))
            if "result" in reports[-1]:
                row["result"] = reports[-1]["result"]
                flat = flat_error(mp4, tape.frame, row["result"]["factor"])
                row["flat"] = asdict(flat)
            rows.append(row)
    load = {"before": load_before, "after": os.getloadavg()}
    return {"rows": rows, "rounds": rounds, "machine": machine(), "load": load}


def machine() -> dict[str, str]:
    import av

    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    version = subprocess.run([FFMPEG, "-version"], capture_output=True, text=True).stdout
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB",
        "python": platform.python_version(),
        "pyav": av.__version__,
        "ffmpeg_cli": " ".join(version.split()[:3]) if version else "?",
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=None, help="rounds per variant (3)")
    parser.add_argument("--quick", action="store_true", help="the 240-frame tapes, 1 round")
    parser.add_argument("--no-ablations", action="store_true", help="skip the speed ablations")
    parser.add_argument("--write", type=Path, help="markdown file to (re)write the section in")
    parser.add_argument("--json", type=Path, help="also dump the raw figures here")
    parser.add_argument(
        "--child", nargs=3, metavar=("VARIANT", "TAPE", "OUT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.child:
        variant, tape, out = args.child
        child(variant, Path(tape), Path(out))
        return 0
    if args.quick:
        specs = [TapeSpec(240, 6), TapeSpec(240, 1)]
    else:
        specs = [TapeSpec(f, s) for s in (6, 1) for f in (60, 240, 600)]
    specs += [TapeSpec(200, 1, "noisy"), TapeSpec(150, 2, "held")]
    if not Path(FFMPEG).exists():
        # The reference pipelines are Debian's ffmpeg, as the original plan ran it.
        print("bench/encode.py needs Debian's ffmpeg: apt-get install -y ffmpeg", file=sys.stderr)
        return 2
    rounds = args.rounds or (1 if args.quick else 3)
    data = benchmark(specs, rounds, ablations=not args.no_ablations)
    data["command"] = " ".join(sys.argv[1:] if argv is None else argv)
    print_summary(data)
    if args.json:
        args.json.write_text(json.dumps(data, indent=1))
    if args.write:
        write_section(args.write, render_markdown(data))
    return 0 if all(ok for _, ok, _ in floor_check(data)) else 1


if __name__ == "__main__":
    sys.exit(main())
