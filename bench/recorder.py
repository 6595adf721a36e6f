"""Benchmark: the recorder in a real browser, ours (1x frames) against the original's way (6x).

    .venv/bin/python bench/recorder.py [--seconds 5] [--rounds 3] [--write docs/benchmarks.md]

Starts its own site (``manage.py runserver`` on a free loopback port, SQLite, local files, a
private redis-server) and one ``manage.py tapes_worker``, then drives Debian's Chromium with
Playwright like a visitor: Record, draw for ``--seconds``, Stop, POST, open the tape page.

Per round it measures, for the same take:

- **ours**: the recorder's ZIP (1x PNG frames, packed in a worker while recording); Stop ->
  take ready (packing), POST -> "POSTED!" (upload + register), Stop -> "POSTED!" with POST pressed
  as soon as it shows, POST -> the API says ``ready``, POST -> the tape page plays the MP4.
- **the original's way** (reference): the same frames upscaled 6x with nearest neighbour on a
  canvas, ``canvas.toBlob`` PNGs, a stored ZIP (what the original plan's bios.mjs does, minus its
  stamp), packed on the page's main thread; posted through the same presigned flow; POST -> API
  ``ready`` for the same worker.

Sizes are exact; times are wall clock on whatever else the machine is doing (medians of rounds).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# First: it puts the repository on the import path.
from browser import ROOT, chromium, median, publish

from tests.support.services import RedisServer, free_port

START = "<!-- bench:recorder:start -->"
END = "<!-- bench:recorder:end -->"

# The original's packing, on the page's main thread: every frame drawn 6x with nearest neighbour
# on a canvas, canvas.toBlob PNG, a stored ZIP (JSZip's default is STORE too); then posted
# through the site's own presigned flow so only the archive differs.
ORIGINAL_WAY_JS = """
async ({zipUrl, post}) => {
  const fflate = '/static/vendor/fflate/fflate.js';
  const { unzipSync, Zip, ZipPassThrough, strToU8 } = await import(fflate);
  const ours = new Uint8Array(await (await fetch(zipUrl)).arrayBuffer());
  const files = unzipSync(ours);
  const timing = JSON.parse(new TextDecoder().decode(files['timing.json']));
  const meta = JSON.parse(new TextDecoder().decode(files['metadata.json']));
  const started = performance.now();
  const w = meta.resolution.width, h = meta.resolution.height, s = 6;
  const canvas = document.createElement('canvas');
  canvas.width = w * s; canvas.height = h * s;
  const ctx = canvas.getContext('2d');
  ctx.imageSmoothingEnabled = false;
  const parts = [];
  const zip = new Zip((err, chunk) => { if (err) throw err; parts.push(chunk); });
  for (const entry of timing) {
    const bitmap = await createImageBitmap(new Blob([files[entry.filename]], {type: 'image/png'}));
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    bitmap.close();
    const png = await new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));
    const file = new ZipPassThrough(entry.filename);
    zip.add(file);
    file.push(new Uint8Array(await png.arrayBuffer()), true);
  }
  const metadata = {...meta, piece: 'original',
    resolution: {width: w * s, height: h * s, originalWidth: w, originalHeight: h, scale: s}};
  for (const [name, value] of [['timing.json', timing], ['metadata.json', metadata]]) {
    const file = new ZipPassThrough(name);
    zip.add(file);
    file.push(strToU8(JSON.stringify(value, null, 2)), true);
  }
  zip.end();
  const blob = new Blob(parts, {type: 'application/zip'});
  const packed = performance.now();
  let code = null, posted = null;
  if (post) {
    const { Poster } = await import('/static/tapes/post.js');
    const result = await new Poster().post({site: location.origin, zip: blob, piece: 'original',
                                            metadata, onProgress: () => {}});
    code = result.code;
    posted = performance.now();
  }
  return {bytes: blob.size, ours: ours.length, frames: timing.length,
          pack_s: (packed - started) / 1000, post_s: posted ? (posted - packed) / 1000 : null,
          code};
}
"""


def scribble(page: Any, seconds: float) -> None:
    box = page.locator("#paper").bounding_box()
    x0, y0 = box["x"] + box["width"] * 0.15, box["y"] + box["height"] * 0.2
    page.mouse.move(x0, y0)
    page.mouse.down()
    deadline = time.monotonic() + seconds
    i = 0
    while time.monotonic() < deadline:
        # Zig-zags that wander down the page, with a colour change now and then: a drawing.
        x = x0 + box["width"] * 0.7 * ((i % 40) / 40)
        y = y0 + box["height"] * (0.05 * ((i // 40) % 12) + (0.04 if i % 2 else 0))
        page.mouse.move(x, y, steps=2)
        if i % 60 == 59:
            page.mouse.up()
            colours = page.locator("input[name=colour]")
            colours.nth((i // 60) % colours.count()).check(force=True)
            page.mouse.move(x, y)
            page.mouse.down()
        page.wait_for_timeout(25)
        i += 1
    page.mouse.up()


def api_ready_after(base: str, code: str, since: float, timeout: float = 300) -> float:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        with urllib.request.urlopen(f"{base}/api/tapes/{code}") as response:
            body = json.load(response)
        if body["status"] == "ready":
            return time.perf_counter() - since
        if body["status"] == "failed":
            raise RuntimeError(f"tape {code} failed: {body['failure']}")
        time.sleep(0.05)
    raise RuntimeError(f"tape {code} not ready after {timeout} s")


def one_round(page: Any, base: str, seconds: float) -> dict[str, Any]:
    page.goto(base + "/")
    page.locator("#recorder[data-ready=true]").wait_for()
    page.get_by_role("button", name="Record").click()
    scribble(page, seconds)
    stop = time.perf_counter()
    page.get_by_role("button", name="Stop").click()
    page.locator("#recorder[data-state=recorded]").wait_for(timeout=120_000)
    ready = time.perf_counter()
    page.get_by_role("button", name="POST").click()
    post = time.perf_counter()
    page.locator("#posted").wait_for(timeout=120_000)
    posted = time.perf_counter()
    take = page.evaluate("() => ({...document.getElementById('recorder').dataset})")
    code = page.locator("#posted-link").inner_text().removeprefix("!")

    api_s = api_ready_after(base, code, post)
    page.goto(f"{base}/t/{code}")
    page.wait_for_function(
        "() => { const v = document.getElementById('tape-video');"
        " return v && !v.hidden && v.readyState >= 2; }",
        timeout=120_000,
    )
    playable_s = time.perf_counter() - post
    duration = page.evaluate("() => document.getElementById('tape-video').duration")

    # The reference, from the very same frames, on a page of the same site.
    page.goto(base + "/")
    stored = page.evaluate(
        "async (code) => (await (await fetch('/api/tapes/' + code)).json()).media.zip", code
    )
    reference = page.evaluate(ORIGINAL_WAY_JS, {"zipUrl": stored, "post": True})
    ref_post = time.perf_counter() - reference["post_s"]
    reference["api_s"] = api_ready_after(base, reference["code"], ref_post)
    return {
        "take_ms": float(take["takeMs"]),
        "frames": int(take["takeFrames"]),
        "bytes": reference["ours"],
        "pack_s": ready - stop,
        "post_s": posted - post,
        "stop_to_posted_s": (ready - stop) + (posted - post),
        "api_ready_s": api_s,
        "playable_s": playable_s,
        "video_duration_ms": duration * 1000,
        "ref_bytes": reference["bytes"],
        "ref_pack_s": reference["pack_s"],
        "ref_post_s": reference["post_s"],
        "ref_stop_to_posted_s": reference["pack_s"] + reference["post_s"],
        "ref_api_ready_s": reference["api_s"],
    }


def run(seconds: float, rounds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-recorder-") as tmp:
        work = Path(tmp)
        redis = RedisServer(work)
        redis.start()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tapesite.settings.local",
            "DJANGO_DEBUG": "false",
            "DATABASE_URL": f"sqlite:///{work / 'db.sqlite3'}",
            "REDIS_URL": redis.url,
            "DJANGO_MEDIA_ROOT": str(work / "media"),
            "TAPES_THROTTLE_UPLOAD": "1000/min",
            "TAPES_THROTTLE_POST": "1000/min",
            "TAPES_THROTTLE_READ": "100000/min",
        }
        python = sys.executable
        subprocess.run(
            [python, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
        )
        port = free_port()
        log = (work / "server.log").open("wb")
        procs = [
            subprocess.Popen(
                [python, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            ),
            subprocess.Popen(
                [python, "manage.py", "tapes_worker"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            ),
        ]  # fmt: skip
        base = f"http://localhost:{port}"
        try:
            for _ in range(100):
                try:
                    urllib.request.urlopen(base + "/tapes", timeout=1)
                    break
                except OSError:
                    time.sleep(0.2)
            with chromium() as browser:
                context = browser.new_context(viewport={"width": 1280, "height": 800})
                page = context.new_page()
                results = []
                for n in range(rounds):
                    row = one_round(page, base, seconds)
                    print(f"round {n + 1}: {json.dumps(row)}", flush=True)
                    results.append(row)
                version = browser.version
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
            log.close()
            redis.stop()
    return {"seconds": seconds, "rounds": results, "chromium": version}


def section(data: dict[str, Any], command: str) -> str:
    rows = data["rounds"]
    m = {key: median(rows, key) for key in rows[0]}
    ratio = m["bytes"] / m["ref_bytes"]
    cpu = platform.processor() or platform.machine()
    lines = [
        START,
        "## The recorder in a real browser (`bench/recorder.py`)",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d} on {os.cpu_count()} cores ({cpu}), Chromium "
        f"{data['chromium']} headless (software rendering), `manage.py runserver` + one "
        "`tapes_worker` on SQLite, local files and a private Redis, all on the same machine "
        "(whatever else runs there adds noise). "
        f"A visitor records about {data['seconds']:g} s of drawing (Playwright moving the mouse; "
        f"zig-zags with colour changes) and posts it. Median of {len(rows)} rounds (each column on "
        "its own); each round "
        "posts the same take twice: ours, and rebuilt the original's way.",
        "",
        "**The original's way** (reference): the same frames upscaled 6x with nearest neighbour "
        "on a canvas, `canvas.toBlob` PNGs and a stored ZIP, packed on the page's main thread "
        "after Stop (the original plan's bios.mjs, minus its stamp), then posted through the same "
        "presigned flow and encoded by the same worker.",
        "",
        f"Reproduce: `{command}`",
        "",
        "| measure | ours (1x, packed while recording) | original's way (6x) | ours / original |",
        "|---|---:|---:|---:|",
        f"| upload bytes (ZIP) | {m['bytes'] / 1024:.0f} KiB | {m['ref_bytes'] / 1024:.0f} KiB "
        f"| **{ratio:.3f}** (1/{1 / ratio:.1f}) |",
        f"| Stop -> take ready (packing) | {m['pack_s']:.2f} s | {m['ref_pack_s']:.2f} s "
        f"| {m['pack_s'] / m['ref_pack_s']:.2f} |",
        f'| POST -> "POSTED!" (upload + register) | {m["post_s"]:.2f} s '
        f"| {m['ref_post_s']:.2f} s | {m['post_s'] / m['ref_post_s']:.2f} |",
        f'| **Stop -> "POSTED!"** | {m["stop_to_posted_s"]:.2f} s '
        f"| {m['ref_stop_to_posted_s']:.2f} s "
        f"| {m['stop_to_posted_s'] / m['ref_stop_to_posted_s']:.2f} |",
        f"| POST -> API says `ready` | {m['api_ready_s']:.2f} s | {m['ref_api_ready_s']:.2f} s "
        f"| {m['api_ready_s'] / m['ref_api_ready_s']:.2f} |",
        f"| **POST -> MP4 playing on the tape page** | {m['playable_s']:.2f} s | - | - |",
        "",
        f"Take: {m['take_ms'] / 1000:.2f} s, {m['frames']:.0f} frames of 256x192 "
        f"(video duration {m['video_duration_ms'] / 1000:.2f} s). The tape page polls every "
        'second, so "playing" includes up to 1 s of polling and the page\'s own load. Per round:',
        "",
        "| round | take s | frames | ours KiB | 6x KiB | ratio | Stop->POSTED! s "
        "| 6x Stop->POSTED! s | POST->playing s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n, row in enumerate(rows, 1):
        lines.append(
            f"| {n} | {row['take_ms'] / 1000:.2f} | {row['frames']} | {row['bytes'] / 1024:.0f} "
            f"| {row['ref_bytes'] / 1024:.0f} | {row['bytes'] / row['ref_bytes']:.3f} "
            f"| {row['stop_to_posted_s']:.2f} | {row['ref_stop_to_posted_s']:.2f} "
            f"| {row['playable_s']:.2f} |"
        )
    lines += ["", END, ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()
    data = run(args.seconds, args.rounds)
    command = ".venv/bin/python bench/recorder.py" + (
        f" --seconds {args.seconds:g} --rounds {args.rounds} --write docs/benchmarks.md"
    )
    publish(section(data, command), args.write, start=START, end=END)


if __name__ == "__main__":
    main()
