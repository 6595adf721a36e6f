"""Benchmark: the recorder library (static/tapes/tapes.js) in headless Chromium.

    .venv/bin/python bench/recorder_library.py [--frames 300] [--rounds 3] \
        [--write docs/benchmarks.md]

Serves static/ from a loopback HTTP server of its own (the library needs nothing else) and drives
Debian's Chromium with Playwright, as the other bench/ scripts do. Per round, in the same page:

- **capture overhead** at 256x256 and 1024x1024: a requestAnimationFrame loop draws the same
  animated scene for ``--frames`` animation frames, once bare (the reference) and once while the
  library records it in realtime mode. Measured: the renderer main thread's busy time per
  animation frame (Chrome's ``TaskDuration`` metric, over the loop only), and the frames the
  library captured out of those drawn. Bare and recorded runs alternate, reference first.
- **packing a 60 s take**: 3600 frames of the scene at 256x256 in frames mode (``frame(1000/60)``,
  awaited: back-pressure), from the first frame to ``stop()`` resolving with the ZIP; reference:
  the same 3600 frames drawn with nothing recorded.

Times are wall clock on whatever else the machine is doing; medians of rounds.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import platform
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# First: it puts the repository on the import path.
from browser import ROOT, chromium, median, publish

START = "<!-- bench:recorder-library:start -->"
END = "<!-- bench:recorder-library:end -->"

PAGE = b"<!doctype html><meta charset=utf-8><title>bench</title><body></body>"

# The scene: a dark ground and 40 moving, overlapping discs (anti-aliased edges: a truecolour
# frame, the harder case for the PNG encoder) drawn on a 2D canvas.
SETUP = """async (size) => {
    window.Tapes = await import('/tapes/tapes.js');
    document.body.replaceChildren();
    const canvas = document.createElement('canvas');
    canvas.width = size; canvas.height = size;
    document.body.append(canvas);
    const ctx = canvas.getContext('2d');
    window.canvas = canvas;
    window.draw = (n) => {
        ctx.fillStyle = '#1d2b53';
        ctx.fillRect(0, 0, size, size);
        for (let i = 0; i < 40; i += 1) {
            const a = (n + i * 37) / 60;
            ctx.fillStyle = `hsl(${(i * 47 + n) % 360}, 80%, 60%)`;
            ctx.beginPath();
            const x = size / 2 + Math.cos(a + i) * size * 0.35;
            const y = size / 2 + Math.sin(a * 1.3 + i) * size * 0.35;
            ctx.arc(x, y, size * 0.04, 0, Math.PI * 2);
            ctx.fill();
        }
    };
    return Tapes.VERSION;
}"""

LOOP = """async ({frames, record, encoders}) => {
    window.take = record ? Tapes.record(canvas, {piece: 'bench', encoders}) : null;
    let n = 0;
    const started = performance.now();
    await new Promise((resolve) => {
        const loop = () => {
            draw(n);
            n += 1;
            if (n < frames) requestAnimationFrame(loop);
            else resolve();
        };
        requestAnimationFrame(loop);
    });
    return {drawn: n, wall_ms: performance.now() - started};
}"""

STOP = """async () => {
    const started = performance.now();
    const result = await take.stop();
    return {captured: result.frames, bytes: result.bytes, stop_ms: performance.now() - started};
}"""

PACK = """async ({frames, record}) => {
    const take = record ? Tapes.record(canvas, {mode: 'frames', piece: 'bench'}) : null;
    const started = performance.now();
    for (let n = 0; n < frames; n += 1) {
        draw(n);
        if (take) await take.frame(1000 / 60);
        else await null;
    }
    const drawn = performance.now();
    const result = take ? await take.stop() : null;
    const done = performance.now();
    return {total_s: (done - started) / 1000, tail_s: (done - drawn) / 1000,
            frames: result ? result.frames : frames, bytes: result ? result.bytes : 0,
            ms: result ? result.durationMs : 0};
}"""


# Capture overhead cases: (key, canvas size, encoder workers; None: the library's default, which
# is none on a 2-core machine).
CASES = [("256", 256, None), ("1024", 1024, None), ("1024-pool", 1024, 2)]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if self.path == "/":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(PAGE)))
            self.end_headers()
            self.wfile.write(PAGE)
            return
        super().do_GET()


def busy_seconds(cdp: Any) -> float:
    metrics = cdp.send("Performance.getMetrics")["metrics"]
    return float(next(m["value"] for m in metrics if m["name"] == "TaskDuration"))


def overhead(page: Any, cdp: Any, size: int, frames: int, encoders: int | None) -> dict[str, Any]:
    page.evaluate(SETUP, size)
    row: dict[str, Any] = {"size": size, "encoders": encoders}
    for record in (False, True):
        before = busy_seconds(cdp)
        loop = page.evaluate(LOOP, {"frames": frames, "record": record, "encoders": encoders})
        busy_ms = (busy_seconds(cdp) - before) * 1000 / loop["drawn"]
        key = "lib" if record else "bare"
        row[f"{key}_busy_ms"] = busy_ms
        row[f"{key}_fps"] = loop["drawn"] / loop["wall_ms"] * 1000
        if record:
            stopped = page.evaluate(STOP)
            row["captured"] = stopped["captured"]
            row["drawn"] = loop["drawn"]
            row["stop_ms"] = stopped["stop_ms"]
            row["bytes"] = stopped["bytes"]
    return row


def packing(page: Any) -> dict[str, Any]:
    page.evaluate(SETUP, 256)
    bare = page.evaluate(PACK, {"frames": 3600, "record": False})
    packed = page.evaluate(PACK, {"frames": 3600, "record": True})
    return {
        "pack_s": packed["total_s"],
        "tail_s": packed["tail_s"],
        "frames": packed["frames"],
        "take_ms": packed["ms"],
        "bytes": packed["bytes"],
        "bare_s": bare["total_s"],
    }


def run(frames: int, rounds: int) -> dict[str, Any]:
    handler = functools.partial(_Quiet, directory=str(ROOT / "static"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    results: dict[str, list[dict[str, Any]]] = {key: [] for key, _, _ in CASES}
    results["pack"] = []
    try:
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1280, "height": 1200})
            page.goto(base + "/")
            cdp = page.context.new_cdp_session(page)
            cdp.send("Performance.enable")
            for n in range(rounds):
                for key, size, encoders in CASES:
                    row = overhead(page, cdp, size, frames, encoders)
                    print(f"round {n + 1} {key}: {json.dumps(row)}", flush=True)
                    results[key].append(row)
                row = packing(page)
                print(f"round {n + 1} pack: {json.dumps(row)}", flush=True)
                results["pack"].append(row)
            version = browser.version
    finally:
        server.shutdown()
    return {"frames": frames, "rounds": results, "chromium": version}


def section(data: dict[str, Any], command: str) -> str:
    cpu = platform.processor() or platform.machine()
    rounds = data["rounds"]
    lines = [
        START,
        "## The recorder library (`bench/recorder_library.py`)",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d} on {os.cpu_count()} cores ({cpu}), Chromium "
        f"{data['chromium']} headless (software rendering, so canvas reads are CPU copies), the "
        "library's files from a loopback static server. The scene: a dark ground and 40 moving "
        "anti-aliased discs on a 2D canvas (truecolour frames). "
        f"Median of {len(rounds['pack'])} rounds.",
        "",
        f"Reproduce: `{command}`",
        "",
        "**Capture overhead** (realtime mode): a requestAnimationFrame loop draws the scene for "
        f"{data['frames']} animation frames, bare (the reference) and while `Tapes.record()` "
        "records it, in the same page and run. *Main thread per frame* is Chrome's renderer "
        "`TaskDuration` over the loop divided by the frames drawn (drawing, the library's "
        "capture, compositing); the packing worker's own thread is not in it.",
        "",
        "| canvas | main thread / frame, bare | with the library | library / bare "
        "| library's cost / frame | fps bare / recorded | frames captured / drawn "
        "| Stop -> ZIP | ZIP |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key, size, encoders in CASES:
        rows = rounds[key]
        bare = median(rows, "bare_busy_ms")
        lib = median(rows, "lib_busy_ms")
        label = f"{size}x{size}" + (f", {encoders} encoder workers" if encoders else "")
        lines.append(
            f"| {label} | {bare:.2f} ms | {lib:.2f} ms | **{lib / bare:.2f}** "
            f"| {lib - bare:.2f} ms | {median(rows, 'bare_fps'):.0f} / "
            f"{median(rows, 'lib_fps'):.0f} | {median(rows, 'captured'):.0f} / "
            f"{median(rows, 'drawn'):.0f} | {median(rows, 'stop_ms') / 1000:.2f} s "
            f"| {median(rows, 'bytes') / 1024:.0f} KiB |"
        )
    pack = rounds["pack"]
    pack_s = median(pack, "pack_s")
    bare_s = median(pack, "bare_s")
    lines += [
        "",
        "Frames are captured as long as the packing worker keeps up; past ~32 MiB of frames in "
        "flight the library skips a capture (the previous frame lasts longer), which is what "
        "*frames captured / drawn* below 1 shows at 1024x1024 on this machine. The library's "
        "default here is no encoder pool (2 cores: the page and the packing worker take one "
        "each); the pool row forces two encoder workers: on 2 cores they share the page's core, "
        "so they cost the main thread more while capturing more frames; with more cores they "
        "run beside it.",
        "",
        "**Packing a 60 s take**: 3600 frames of the scene at 256x256 in frames mode "
        "(`await take.frame(1000 / 60)` after drawing each), from the first frame to `stop()` "
        "resolving with the ZIP. Reference: the same 3600 frames drawn, nothing recorded.",
        "",
        "| measure | value |",
        "|---|---:|",
        f"| first frame -> ZIP ready (3600 frames, {median(pack, 'take_ms') / 1000:.0f} s of "
        f"tape) | **{pack_s:.1f} s** ({pack_s / 3600 * 1000:.2f} ms a frame, "
        f"{60 / pack_s:.1f}x faster than real time) |",
        f"| of which after the last frame (stop() -> ZIP) | {median(pack, 'tail_s'):.2f} s |",
        f"| drawing the same 3600 frames, nothing recorded (reference) | {bare_s:.2f} s |",
        f"| ZIP | {median(pack, 'bytes') / 1024 / 1024:.1f} MiB |",
        "",
    ]
    lines += ["Per round (256 / 1024: main thread ms a frame, bare -> recorded; pack s):", ""]
    lines += ["| round | 256x256 | 1024x1024 | 60 s take packed |", "|---:|---|---|---:|"]
    for n in range(len(pack)):
        a, b = rounds["256"][n], rounds["1024"][n]
        lines.append(
            f"| {n + 1} | {a['bare_busy_ms']:.2f} -> {a['lib_busy_ms']:.2f} "
            f"| {b['bare_busy_ms']:.2f} -> {b['lib_busy_ms']:.2f} | {pack[n]['pack_s']:.1f} |"
        )
    lines += ["", END, ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()
    data = run(args.frames, args.rounds)
    command = ".venv/bin/python bench/recorder_library.py"
    if args.frames != 300:
        command += f" --frames {args.frames}"
    if args.rounds != 3:
        command += f" --rounds {args.rounds}"
    command += " --write docs/benchmarks.md"
    publish(section(data, command), args.write, start=START, end=END)


if __name__ == "__main__":
    main()
