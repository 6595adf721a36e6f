"""Benchmark: time to playable. POST a tape, wait until it is ``ready`` (MP4 and the rest stored).

Starts its own site the way production runs it (gunicorn with ``tapesite.settings.production``
on a fresh PostgreSQL database, Redis and SeaweedFS, as ``bench/load.py`` does) and one encode
worker (``manage.py tapes_worker``), or uses a running site given by ``--url`` (its own workers
then). Posts a 5 s tape through the HTTP API ``--posts`` times, one after the other, and measures
``POST /api/tapes`` -> ``ready`` (polling ``GET /api/tapes/<code>`` every ``--poll`` s), plus the
whole browser-side post (start + upload + register) for reference. p50/p90 go to stdout and, with
``--write``, into docs/benchmarks.md with the machine's load average. Goal: p50 <= 2 s.

    .venv/bin/python bench/playable.py --write
    .venv/bin/python bench/playable.py --url http://127.0.0.1:8000
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.site import SiteClient, kill_tree, start_worker  # noqa: E402
from tests.support.synth import make_tape  # noqa: E402

MARK_BEGIN = "<!-- playable:begin -->"
MARK_END = "<!-- playable:end -->"
GOAL_P50_S = 2.0


def _load_bench() -> Any:
    """bench/load.py's site launcher (bench/ is scripts, not a package)."""
    spec = importlib.util.spec_from_file_location("bench_load", ROOT / "bench" / "load.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@contextmanager
def own_site(args: argparse.Namespace, workdir: Path) -> Iterator[str]:
    load = _load_bench()
    with ExitStack() as stack:
        site = stack.enter_context(load.running_site(args, workdir))
        worker = start_worker(site.env, workdir / "worker.log")
        stack.callback(kill_tree, worker)
        yield site.server.url


def five_second_tape(workdir: Path, scale: int) -> tuple[bytes, float]:
    """300 frames of 256x256 at ~60 fps (~5 s, no pauses), as the recorder sends them."""
    path = workdir / "five.zip"
    tape = make_tape(path, frames=300, scale=scale, seed=21, pauses=False, piece="playable")
    return path.read_bytes(), tape.total_duration_ms


def measure(url: str, content: bytes, posts: int, poll: float) -> dict[str, Any]:
    client = SiteClient(url)
    playable, posting, encode = [], [], []
    for index in range(posts + 1):  # the first is a warm-up (imports, connections)
        started = time.perf_counter()
        ticket = client.start(piece="playable", size=len(content))
        sent = client.upload(ticket, content)
        assert sent.status_code in (200, 201, 204), sent.text
        posted_at = time.perf_counter()
        response = client.register(ticket)
        assert response.status_code == 201, response.text
        code = response.json()["code"]
        while True:
            tape = client.tape(code)
            if tape["status"] in ("ready", "failed"):
                break
            time.sleep(poll)
        done = time.perf_counter()
        assert tape["status"] == "ready", tape
        if index == 0:
            continue
        playable.append(done - posted_at)
        posting.append(posted_at - started)
        encode.append(tape)
        print(f"post {index}/{posts}: {done - posted_at:.2f} s to ready", file=sys.stderr)
    return {
        "playable": playable,
        "posting": posting,
        "media": sorted(encode[-1]["media"]),
    }


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def render(results: dict[str, Any], args: argparse.Namespace, load: tuple[str, str]) -> str:
    playable, posting = results["playable"], results["posting"]
    p50, p90 = statistics.median(playable), _pct(playable, 90)
    where = (
        "a running site (`--url`)"
        if args.url
        else (
            "its own gunicorn (production settings, 2 workers) and one `tapes_worker`, on "
            "SeaweedFS, Redis and PostgreSQL"
        )
    )
    lines = [
        MARK_BEGIN,
        "## Time to playable (`bench/playable.py`)",
        "",
        f"A 5 s tape (300 frames of 256x256 at ~60 fps, stored at {args.scale}x, "
        f"{results['tape_bytes'] / 1e6:.2f} MB ZIP) posted through the HTTP API "
        f"{len(playable)} times in a row (after one warm-up) against {where}; time from "
        "`POST /api/tapes` to the tape reading `ready` (MP4, thumbnail, preview and GIF stored), "
        f"polled every {args.poll * 1000:.0f} ms. Load before: `{load[0]}`; after: `{load[1]}` "
        "(the machine is shared: absolute times are noisy).",
        "",
        "| | p50 s | p90 s | min s | max s |",
        "|---|---:|---:|---:|---:|",
        f"| POST /api/tapes -> ready | {p50:.2f} | {p90:.2f} | {min(playable):.2f} "
        f"| {max(playable):.2f} |",
        f"| browser side: start + upload + register | {statistics.median(posting):.2f} "
        f"| {_pct(posting, 90):.2f} | {min(posting):.2f} | {max(posting):.2f} |",
        "",
        f"- {'PASS' if p50 <= GOAL_P50_S else 'FAIL'}: p50 <= {GOAL_P50_S:.0f} s ({p50:.2f} s)",
        "",
        "Reproduce: `.venv/bin/python bench/playable.py --write` (starts everything itself; "
        "`--url http://host:port` measures a running site and its workers instead).",
        MARK_END,
    ]
    return "\n".join(lines)


def write_report(section: str) -> None:
    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if MARK_BEGIN in text and MARK_END in text:
        before, rest = text.split(MARK_BEGIN, 1)
        text = before + section + rest.split(MARK_END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running site (with its workers) instead of our own")
    parser.add_argument("--posts", type=int, default=20)
    parser.add_argument("--poll", type=float, default=0.05, help="seconds between status reads")
    parser.add_argument("--scale", type=int, default=1, help="stored scale of the tape's PNGs")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tapesite_playable"
        ),
        help="a database the bench may drop and create",
    )
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    load_before = _uptime()
    with tempfile.TemporaryDirectory(prefix="tapesite-playable-") as tmp:
        workdir = Path(tmp)
        content, _ = five_second_tape(workdir, args.scale)
        with ExitStack() as stack:
            url = args.url or stack.enter_context(own_site(args, workdir))
            results = measure(url, content, args.posts, args.poll)
    results["tape_bytes"] = len(content)
    section = render(results, args, (load_before, _uptime()))
    print(section)
    if args.write:
        write_report(section)
    return 0 if statistics.median(results["playable"]) <= GOAL_P50_S else 1


def _uptime() -> str:
    return "load average: " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    sys.exit(main())
