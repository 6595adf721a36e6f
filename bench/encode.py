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
import itertools
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CACHE = ROOT / ".cache" / "bench"
FFMPEG = shutil.which("ffmpeg") or "/usr/bin/ffmpeg"
START = "<!-- bench:encode:start -->"
END = "<!-- bench:encode:end -->"
VARIANTS = ("a", "b", "c", "c-mp4", "decode")
ABLATIONS = ("old", "inline", "cabac", "4x")
LABELS = {
    "a": "(a) original plan, ffmpeg concat",
    "b": "(b) frame-exact ffmpeg concat",
    "c": "(c) ours: MP4 + thumbnail + preview + GIF",
    "c-mp4": "(c) ours, MP4 only",
    "decode": "PNG decode only (iter_frames)",
    "old": "MP4 only, previous settings",
    "inline": "MP4 only, swscale inline",
    "cabac": "MP4 only, CABAC always",
    "4x": "MP4 only, 4x video (1024x1024)",
}
#: EncodeSettings overrides of the ablations (all MP4 only).
ABLATION_SETTINGS: dict[str, dict[str, Any]] = {
    "old": {
        "preset": "superfast",
        "x264_params": "mbtree=1:rc-lookahead=10:aq-mode=0:subme=0:no-deblock=1",
        "crf": 23,
        "crf_crisp": 23,
        "convert_ahead": 0,
        "max_long_side": 1080,
    },
    "inline": {"convert_ahead": 0},
    "cabac": {"cavlc_share": 0},
    "4x": {"max_long_side": 1080},
}
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
# Parent side: tapes, rounds, quality, report


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


@dataclass
class Quality:
    frames_out: int
    duration_ms: float
    psnr_db: float
    worst_psnr_db: float
    shown_right: int
    width: int
    height: int
    mp4_bytes: int


def _shown_at_midpoints(path: Path, midpoints: list[float]) -> Iterator[tuple[int, Any]]:
    """(source index, decoded RGB frame shown at that source frame's midpoint)."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        time_base = float(stream.time_base or 0)
        decoded = container.decode(stream)
        current = next(decoded)
        upcoming = next(decoded, None)
        shown: tuple[Any, Any] | None = None
        for index, midpoint in enumerate(midpoints):
            while upcoming is not None and (upcoming.pts or 0) * time_base * 1000 <= midpoint:
                current, upcoming = upcoming, next(decoded, None)
            if shown is None or shown[0] is not current:
                shown = (current, to_rgb(current))
            yield index, shown[1]


#: (Kr, Kb) of the Y'CbCr matrices: BT.709 when tagged so, else BT.601 (FFmpeg's default for
#: untagged RGB input, which is what (a) and (b) wrote).
_MATRICES = {1: (0.2126, 0.0722)}
_BT601 = (0.299, 0.114)


def to_rgb(frame: Any) -> Any:
    """Exact inverse of the frame's TV-range matrix, chroma repeated (not interpolated).

    swscale's own YUV->RGB is off by up to 3 levels on saturated colours, and its accurate mode
    shifts nearest-neighbour chroma by a pixel, either of which would blur the comparison.
    """
    import numpy as np

    kr, kb = _MATRICES.get(int(frame.colorspace), _BT601)
    y, cb, cr = (
        np.frombuffer(p, np.uint8).reshape(-1, p.line_size)[:, : p.width] for p in frame.planes
    )
    h, w = y.shape
    cb, cr = (np.repeat(np.repeat(c, 2, 0), 2, 1)[:h, :w] for c in (cb, cr))
    luma = (y.astype(np.float32) - 16) / 219
    r = luma + (2 - 2 * kr) * (cr.astype(np.float32) - 128) / 224
    b = luma + (2 - 2 * kb) * (cb.astype(np.float32) - 128) / 224
    g = (luma - kr * r - kb * b) / (1 - kr - kb)
    rgb = np.stack([r, g, b], -1) * 255
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def measure(path: Path, tape: Any) -> Quality:
    import av
    import numpy as np

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames_out = sum(1 for _ in container.decode(stream))
        duration_ms = (container.duration or 0) / 1000
        width, height = stream.codec_context.width, stream.codec_context.height
    starts = [0.0]
    for duration in tape.durations_ms:
        starts.append(starts[-1] + duration)
    midpoints = [(a + b) / 2 for a, b in itertools.pairwise(starts)]
    factor = width // tape.width
    errors, worst, right = [], float("inf"), 0
    sources = [tape.frame(i) for i in range(tape.frames)]
    for index, shown in _shown_at_midpoints(path, midpoints):
        source = sources[index]
        blocks = shown[: tape.height * factor, : tape.width * factor].reshape(
            tape.height, factor, tape.width, factor, 3
        )
        diff = blocks.astype(np.int16) - source[:, None, :, None, :]
        mse = float(np.square(diff, dtype=np.int32).mean())
        errors.append(mse)
        worst = min(worst, _psnr(mse))
        # "Shown right": the block centres are closer to this source frame than to its neighbours.
        centres = blocks[:, factor // 2, :, factor // 2].astype(np.int32)
        near = [j for j in (index - 1, index + 1) if 0 <= j < tape.frames]
        own = float(np.square(centres - source).mean())
        others = [float(np.square(centres - sources[j]).mean()) for j in near]
        right += all(own < other for other in others)
    return Quality(
        frames_out=frames_out,
        duration_ms=duration_ms,
        psnr_db=_psnr(statistics.fmean(errors)),
        worst_psnr_db=worst,
        shown_right=right,
        width=width,
        height=height,
        mp4_bytes=path.stat().st_size,
    )


def _psnr(mse: float) -> float:
    import math

    return float("inf") if mse == 0 else 10 * math.log10(255**2 / mse)


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


# --------------------------------------------------------------------------------------------
# Report


def _find(rows: list[dict[str, Any]], tape: str, variant: str) -> dict[str, Any] | None:
    return next((r for r in rows if r["tape"] == tape and r["variant"] == variant), None)


#: Peak RSS ceiling of ours (MB) and the flat-area bound (code values, 99th percentile).
MAX_RSS_MB = 200
FLAT_P99 = 4
#: On the 1x tapes (what the recorder sends): (c), the whole job, against (b), ffmpeg's MP4
#: alone, and the extras' (thumbnail, preview, GIF) share of (c).
MIN_SPEEDUP_1X = 2.0
MAX_EXTRAS_SHARE = 0.25


def extras_share(
    whole: dict[str, Any], mp4_only: dict[str, Any], measure: str = "seconds"
) -> float:
    """What the thumbnail, preview and GIF add to the job, as a share of it: 1 - (MP4 only) /
    (c), from the median wall times (the two are separate processes, so on a busy machine noise
    can even make it < 0) or CPU seconds (steadier, but blind to the extras' threads running
    beside x264)."""
    return 1 - mp4_only[measure] / whole[measure]


def floor_check(data: dict[str, Any]) -> list[tuple[str, bool, str]]:
    rows = data["rows"]
    checks: list[tuple[str, bool, str]] = []
    b, c = _find(rows, "shapes-240f-6x", "b"), _find(rows, "shapes-240f-6x", "c")
    if b is not None and c is not None:
        speedup = b["seconds"] / c["seconds"]
        qb, qc = b["quality"], c["quality"]
        checks += [
            ("240f 6x: (c) at least 8x faster than (b)", speedup >= 8, f"{speedup:.1f}x"),
            ("240f 6x: PSNR(c) >= PSNR(b)", qc["psnr_db"] >= qb["psnr_db"], _db(qc, qb)),
            (
                "240f 6x: (c) has every frame, in time",
                qc["frames_out"] == c["frames"] == qc["shown_right"]
                and abs(qc["duration_ms"] - c["source_ms"]) <= 1,
                f"{qc['frames_out']} frames, {qc['shown_right']} shown right, "
                f"{qc['duration_ms']:.0f} of {c['source_ms']:.1f} ms",
            ),
        ]
    c1 = _find(rows, "shapes-240f-1x", "c")
    if c1 is not None:
        checks.append(("240f 1x: (c) within 1 s", c1["seconds"] <= 1.0, f"{c1['seconds']:.2f} s"))
    for tape in dict.fromkeys(r["tape"] for r in rows if r["tape"].endswith("-1x")):
        b1, c1, mp4 = (_find(rows, tape, v) for v in ("b", "c", "c-mp4"))
        if b1 is None or c1 is None or mp4 is None:
            continue
        name = tape.removeprefix("shapes-").replace("-", " ")
        speedup, share = b1["seconds"] / c1["seconds"], extras_share(c1, mp4)
        checks += [
            (
                f"{name}: (c), the whole job, at least {MIN_SPEEDUP_1X:g}x faster than (b), "
                "ffmpeg's MP4 alone",
                speedup >= MIN_SPEEDUP_1X,
                f"{speedup:.2f}x: {c1['seconds']:.2f} s vs {b1['seconds']:.2f} s",
            ),
            (
                f"{name}: the thumbnail, preview and GIF at most {MAX_EXTRAS_SHARE:.0%} of (c)",
                share <= MAX_EXTRAS_SHARE,
                f"{share:.0%}: (c) {c1['seconds']:.2f} s, MP4 only {mp4['seconds']:.2f} s; "
                f"of the CPU {extras_share(c1, mp4, 'cpu_seconds'):.0%}",
            ),
        ]
    ours = [r for r in rows if r["variant"] in ("c", "c-mp4", "decode")]
    if ours:
        worst = max(ours, key=lambda r: r["rss_mb"])
        checks.append(
            (
                f"peak RSS of ours under {MAX_RSS_MB} MB",
                worst["rss_mb"] < MAX_RSS_MB,
                f"{worst['rss_mb']:.0f} MB ({worst['tape']} {worst['variant']})",
            )
        )
    flats = [r for r in rows if r["variant"] == "c" and "flat" in r]
    if flats:
        worst = max(flats, key=lambda r: r["flat"]["p99"])
        checks.append(
            (
                f"flat areas within {FLAT_P99} code values at p99 on every tape",
                worst["flat"]["p99"] <= FLAT_P99,
                f"worst {worst['flat']['p99']:.0f} ({worst['tape']})",
            )
        )
    return checks


def _db(qc: dict[str, Any], qb: dict[str, Any]) -> str:
    return f"{qc['psnr_db']:.2f} dB vs {qb['psnr_db']:.2f} dB"


def render_markdown(data: dict[str, Any]) -> str:
    rows, m = data["rows"], data["machine"]
    out = [
        START,
        "## Encoding a tape (`bench/encode.py`)",
        "",
        f"Measured {m['date']} on {m['cores']} cores ({m['cpu']}, {m['memory']}), Python "
        f"{m['python']}, PyAV {m['pyav']} (bundled FFmpeg and x264), reference "
        f"`{m['ffmpeg_cli']}`. Median of {data['rounds']} rounds, rounds interleaved, each "
        "variant in its own process; wall time excludes interpreter start-up and imports. "
        f"Load average (1 min) {data['load']['before'][0]:.1f} before and "
        f"{data['load']['after'][0]:.1f} after: on a shared machine absolute times are noisy, "
        "ratios within one run and CPU seconds (user + system, ffmpeg's included) less so. "
        "Synthetic tapes: 256x256 drawn (five moving flat shapes on a dark ground, 1 % noise "
        "pixels per frame), ~60 fps with jitter and a few 250-800 ms pauses, stored as PNGs at 6x "
        "(1536x1536, as the recorder stores them) or 1x.",
        "",
        "Variants: **(a)** the original plan as written (unzip to disk, concat list of "
        "`file`/`duration` lines, `ffmpeg -f concat -safe 0 -i concat.txt -c:v libx264 "
        "-pix_fmt yuv420p out.mp4`); **(b)** the same made frame-exact (`ffconcat version 1.0`, "
        "`option framerate 1000` and `duration` per file, last file repeated, `-fps_mode vfr`; "
        "preset medium); **(c)** ours (`inspect_archive` + `iter_frames` + `render_tape`, "
        "MP4 + thumbnail + preview + GIF; 512x512 output unless the quality ladder steps "
        "down); *MP4 only* is (c) without the thumbnail, preview and GIF; *decode* is "
        "`inspect_archive` + `iter_frames` alone. Ablations (240-frame tapes, MP4 only, one "
        "change each): *previous settings* (superfast + mbtree, CRF 23, swscale inline, 4x "
        "video), *swscale inline*, *CABAC always* (no CAVLC first rung), *4x video*. The "
        "*noisy* (5 % noise pixels, near the cap) and *held* (a frame held 4 s every 40) "
        "tapes are the tests' hard cases, encoded by (c) only.",
        "",
        "PSNR is per time sample: for each source frame, the output frame shown at its midpoint "
        "against the source at the output size (nearest-neighbour upscale), converted to RGB "
        "with the exact inverse of the matrix the file's tags say (BT.601 when untagged, as "
        "FFmpeg wrote it) and chroma repeated, averaged as MSE. "
        "*Shown right* counts source frames whose sample is closer to them than to their "
        "neighbours (a dropped frame fails). Peak RSS is the child's maximum (ffmpeg's for "
        "a/b); ours includes ~"
        f"{_baseline(rows):.0f} MB of interpreter, NumPy and PyAV before any work.",
        "",
        "| tape | variant | wall s | vs (c) | CPU s | peak RSS MB | MP4 MB | output | frames out "
        "| duration ms (src) | PSNR dB (worst) | shown right |",
        "|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        ours = _find(rows, row["tape"], "c")
        ratio = row["seconds"] / ours["seconds"] if ours else float("nan")
        q = row.get("quality")
        if q is None:
            tail = "| - | - | - | - | - | - |"
        else:
            tail = (
                f"| {q['mp4_bytes'] / 1e6:.2f} | {q['width']}x{q['height']} | {q['frames_out']} "
                f"| {q['duration_ms']:.0f} ({row['source_ms']:.1f}) "
                f"| {q['psnr_db']:.2f} ({q['worst_psnr_db']:.1f}) "
                f"| {q['shown_right']}/{row['frames']} |"
            )
        out.append(
            f"| {row['tape']} | {LABELS[row['variant']]} | {row['seconds']:.2f} | {ratio:.2f}x "
            f"| {row['cpu_seconds']:.2f} | {row['rss_mb']:.0f} {tail}"
        )
    out += ["", "Ratios (median wall times):", ""]
    out += ["| tape | (b) / (c) | (b) / (c) MP4 only | (a) / (c) | (c) / decode only "]
    out[-1] += "| (c) MP4 only / decode only | extras' share of (c) | of its CPU |"
    out += ["|---|---:|---:|---:|---:|---:|---:|---:|"]
    for tape in dict.fromkeys(r["tape"] for r in rows if r["variant"] == "b"):
        t = {v: _find(rows, tape, v) for v in VARIANTS}
        share = cpu_share = "-"
        if t["c"] and t["c-mp4"]:
            share = f"{extras_share(t['c'], t['c-mp4']):.0%}"
            cpu_share = f"{extras_share(t['c'], t['c-mp4'], 'cpu_seconds'):.0%}"
        out.append(
            f"| {tape} | {_ratio(t['b'], t['c'])} | {_ratio(t['b'], t['c-mp4'])} "
            f"| {_ratio(t['a'], t['c'])} | {_ratio(t['c'], t['decode'])} "
            f"| {_ratio(t['c-mp4'], t['decode'])} | {share} | {cpu_share} |"
        )
    out += _ablation_table(rows)
    out += _flat_table(rows)
    checks = floor_check(data)
    if checks:
        out += ["", "Goals:", ""]
        out += [f"- {'PASS' if ok else 'FAIL'}: {name} ({detail})" for name, ok, detail in checks]
    out += ["", *_notes(rows, data.get("command", "")), END]
    return "\n".join(out) + "\n"


def _ablation_table(rows: list[dict[str, Any]]) -> list[str]:
    """What each speed idea bought: MP4 only, against the same without it, in the same run."""
    out: list[str] = []
    for tape in dict.fromkeys(r["tape"] for r in rows if r["variant"] in ABLATIONS):
        now = _find(rows, tape, "c-mp4")
        if now is None:
            continue
        if not out:
            out += ["", "Speed ideas (MP4 only; wall and CPU of the variant / of today's):", ""]
            out += ["| tape | variant | wall s | CPU s | wall ratio | CPU ratio | MP4 MB "]
            out[-1] += "| flat p99 |"
            out += ["|---|---|---:|---:|---:|---:|---:|---:|"]
        for variant in ("c-mp4", *ABLATIONS):
            row = _find(rows, tape, variant)
            if row is None:
                continue
            flat = row.get("flat", {}).get("p99", float("nan"))
            out.append(
                f"| {tape} | {LABELS[variant]} | {row['seconds']:.2f} | {row['cpu_seconds']:.2f} "
                f"| {row['seconds'] / now['seconds']:.2f}x "
                f"| {row['cpu_seconds'] / now['cpu_seconds']:.2f}x "
                f"| {row['quality']['mp4_bytes'] / 1e6:.2f} | {flat:.0f} |"
            )
    return out


def _flat_table(rows: list[dict[str, Any]]) -> list[str]:
    """Flat-area error of (c) per tape, and the rung the quality ladder kept."""
    ours = [r for r in rows if r["variant"] == "c" and "flat" in r]
    if not ours:
        return []
    out = ["", "Flat areas (pixels whose 3x3 neighbourhood is one colour in the 1x source): error "]
    out[-1] += "of (c) in Y'CbCr code values against the exact BT.709 values, and the rung kept:"
    out += [""]
    out += ["| tape | flat pixels | p99 | worst | MP4 MB | of the cap | rung kept | passes |"]
    out += ["|---|---:|---:|---:|---:|---:|---|---:|"]
    for row in ours:
        flat, result = row["flat"], row["result"]
        attempts = result.get("attempts") or []
        tried = ", ".join(f"{_rung(a)} {a['outcome']}" for a in attempts)
        out.append(
            f"| {row['tape']} | {flat['pixels']:,} | {flat['p99']:.0f} | {flat['worst']} "
            f"| {result['mp4_bytes'] / 1e6:.2f} | {result['mp4_bytes'] / 10_485_760:.0%} "
            f"| {_rung(result)} ({tried}) | {result['passes']} |"
        )
    return out


def _rung(done: dict[str, Any]) -> str:
    coder = "CABAC" if done.get("cabac", True) else "CAVLC"
    return f"{done['factor']}x CRF {done['crf']} {coder}"


def _baseline(rows: list[dict[str, Any]]) -> float:
    values = [r["baseline_rss_mb"] for r in rows if r["variant"] == "c"]
    return statistics.median(values) if values else 0.0


def _ratio(top: dict[str, Any] | None, bottom: dict[str, Any] | None) -> str:
    if not top or not bottom:
        return "-"
    return f"{top['seconds'] / bottom['seconds']:.2f}x"


def _notes(rows: list[dict[str, Any]], command: str = "") -> list[str]:
    results = [r for r in rows if r["variant"] == "c" and "result" in r]
    sizes = ", ".join(
        f"{r['tape']}: thumbnail {r['result']['thumbnail_bytes'] / 1e3:.0f} kB, preview "
        f"{r['result']['preview_bytes'] / 1e3:.0f} kB ({r['result']['preview_frames']} frames), "
        f"GIF {r['result']['gif_bytes'] / 1e3:.0f} kB ({r['result']['gif_frames']} frames, "
        f"{r['result']['gif_colours']} colours)"
        for r in results
    )
    return [
        f"This run: `.venv/bin/python bench/encode.py {command}`." if command else "",
        "",
        "Reproduce: `apt-get install -y ffmpeg && .venv/bin/python bench/encode.py --write "
        "docs/benchmarks.md` (`--quick`: the 240-frame tapes, 1 round; `--rounds N` for more).",
        "",
        "Notes:",
        "",
        "- (a) is wrong, not just slow: it writes constant 25 fps, so frames are dropped or "
        "repeated and pauses are mangled; its frame count and *shown right* column show it.",
        "- (b) writes one extra frame (the repeated last file, 1 ms long) and, like (a), "
        "converts RGB to 4:2:0 at the stored size with the BT.601 matrix and no colour tags "
        "(browsers assume BT.709 and render it darker); its output is 1536x1536, which needs "
        "H.264 level 5.0+ (it declares 6.2: x264 sees the 1000 fps of `option framerate "
        "1000`).",
        "- The 1x rows are not like for like: FFmpeg encodes the stored 256x256 (16x fewer "
        "pixels, left to the browser to upscale, blurred), ours writes 512x512; the "
        "PSNR gap there is (b)'s 4:2:0 colour bleed at 1x.",
        "- Ours: libx264 `ultrafast` + `chroma-qp-offset=-3`, quality by budget (CRF 8 "
        "at the full upscale for a tape far under the 10 MiB cap, CAVLC while the video stays "
        "within 90 % of the cap, CABAC beyond; the ladder in "
        "`docs/encoding.md` when the cap binds), x264 in one thread, swscale and the "
        "thumbnail/preview/GIF collectors in a worker thread 3 frames ahead, the preview "
        "written frame by frame during the pass by a thread of its own, the GIF and the "
        "thumbnail by another from the last frame on (overlapping the end of the pass), the 1x "
        "frames recovered "
        "from the 6x PNGs and upscaled 2x (nearest neighbour) inside one swscale call to BT.709 "
        "yuv420p. See `docs/encoding.md` for why each setting.",
        "- *Extras' share of (c)*: 1 - (MP4 only) / (c), the share of the whole job's wall time "
        "that the thumbnail, preview and GIF add (two processes, so on a busy machine noise "
        "moves it a lot), and the same of the CPU seconds (steadier). Where their time goes: "
        "`docs/encoding.md`, *What the extras cost*.",
        f"- Thumbnail, preview and GIF sizes: {sizes}." if sizes else "",
        "- Licensing: the PyAV wheel bundles GPL x264 (and x265) although its FFmpeg reports "
        '"LGPL version 3 or later" (`av._core.library_meta`, FFmpeg\'s `avcodec_license()`). '
        "Running it server-side is fine; distributing the wheel or a binary with it carries the "
        "GPL's obligations.",
    ]


def write_section(path: Path, section: str) -> None:
    if path.exists():
        text = path.read_text()
    else:
        text = (
            "# Benchmarks\n\n"
            "Figures measured on the project's reference machine (a 2-core VM). Each section is "
            "rewritten by the script that produced it, between its marker comments; rerun the "
            "command shown in a section to reproduce it.\n\n"
            "Reproduce the encoding benchmark with:\n\n"
            "    .venv/bin/python bench/encode.py --write docs/benchmarks.md\n\n"
        )
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END) + r"\n?", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def print_summary(data: dict[str, Any]) -> None:
    for row in data["rows"]:
        q = row.get("quality") or {}
        print(
            f"{row['tape']:16} {row['variant']:7} {row['seconds']:7.2f}s {row['all_seconds']} "
            f"cpu {row['cpu_seconds']:6.2f}s flat p99 {row.get('flat', {}).get('p99', '-')} "
            f"rss {row['rss_mb']:5.0f} MB  frames {q.get('frames_out', '-')} "
            f"dur {q.get('duration_ms', 0):.0f}/{row['source_ms']:.1f} "
            f"psnr {q.get('psnr_db', 0):.2f} right {q.get('shown_right', '-')}"
        )
    for name, ok, detail in floor_check(data):
        print(f"{'PASS' if ok else 'FAIL'} {name}: {detail}")


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
