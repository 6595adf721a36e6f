"""Benchmark: page weight. What the gallery's first view (24 ready tapes) and a tape page cost a
first-time visitor in headless Chromium: bytes transferred (every resource, headers included,
cache off) and time to the first picture shown.

Starts its own site the way production runs it (gunicorn with ``tapesite.settings.production``:
whitenoise's compressed static files, media redirected to SeaweedFS; a fresh PostgreSQL
database, Redis) and one encode worker (``manage.py tapes_worker``), posts ``--tapes`` synthetic
tapes through the HTTP API and waits until the worker made them ready. Then, at desktop
(1280x800) and phone (390x844, touch) sizes, ``--rounds`` times each:

- the gallery ``/tapes``: bytes of its first view (loaded, nothing fetched for 0.5 s), the first
  thumbnail shown; then, in fresh tabs, scrolled to the end card by card, flicked (60 ms a
  card) and read (600 ms a card): bytes and previews fetched. Reference
  in the same run: what the first view would cost if it fetched every card's thumbnail and
  animated preview (the page plus all 24 of each, their sizes read from storage).
- the newest tape's page ``/t/<code>``: bytes before the video (the page, its scripts, styles
  and poster), the video's bytes, time to the video's first frame presented; reference: the
  page's load event.

Medians go to stdout and, with ``--write``, into docs/benchmarks.md, beside the budgets of
docs/pages.md ("Page weight"); the exit status is 1 when a budget is broken.

    .venv/bin/python bench/pages.py --write
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

# First: it puts the repository on the import path (bench/browser.py).
import browser
import requests

from tests.conftest import SIZES
from tests.support.page_weight import KIB, WATCH_FIRST_FRAME, Traffic, first_shown, settle
from tests.support.site import SiteClient, kill_tree, start_worker
from tests.support.synth import make_tape

ROOT = browser.ROOT
START = "<!-- bench:pages:start -->"
END = "<!-- bench:pages:end -->"

# How long the bench's visitor rests on each card as it scrolls the gallery: a flick, and a
# person reading each card.
FLICK_MS = 60
READ_MS = 600
DETAIL = "--detail" in sys.argv  # every request of every visit, on stderr

# The budgets of docs/pages.md ("Page weight"), on this machine, against this bench's site.
BUDGETS = {
    "gallery first view KiB": 160,
    "tape page before the video KiB": 128,
    "gallery first thumbnail ms": 1000,
    "tape first video frame ms": 1500,
}


@contextmanager
def own_site(args: argparse.Namespace, workdir: Path) -> Iterator[str]:
    # bench/production.py's site, serving the collected files (hashed, compressed) as production
    # does, and a worker to encode the tapes.
    from production import running_site

    with ExitStack() as stack:
        site = stack.enter_context(
            running_site(
                workdir=workdir,
                database_url=args.database_url,
                workers=args.workers,
                threads=args.threads,
                pages=True,
            )
        )
        worker = start_worker(site.env, workdir / "worker.log")
        stack.callback(kill_tree, worker)
        yield site.server.url


def post_tapes(url: str, workdir: Path, count: int) -> list[dict[str, Any]]:
    """``count`` tapes of ~5 s (300 frames of 256x192, the recorder's size), each its own
    drawing, posted one after the other and encoded by the worker; the newest first."""
    client = SiteClient(url)
    codes = []
    for seed in range(count):
        path = workdir / f"tape{seed}.zip"
        make_tape(
            path, frames=300, width=256, height=192, scale=1, seed=seed, noise=0.0, piece="pages"
        )
        posted = client.post(path.read_bytes(), piece="pages")
        assert posted.status_code == 201, posted.text
        codes.append(posted.json()["code"])
    tapes = [client.wait_for(code, {"ready", "failed"}, timeout=300) for code in codes]
    assert all(tape["status"] == "ready" for tape in tapes), [t["status"] for t in tapes]
    return tapes[::-1]


def media_bytes(url: str) -> int:
    """A stored file's size, through the site's media link (it redirects to storage)."""
    response = requests.get(url, timeout=30)
    response.raise_for_status()
    return len(response.content)


def open_tab(chromium: Any, size: str) -> tuple[Any, Any]:
    context = chromium.new_context(**SIZES[size])
    context.set_default_timeout(30_000)
    context.add_init_script(WATCH_FIRST_FRAME)
    return context, context.new_page()


def gallery_round(chromium: Any, url: str, size: str) -> dict[str, Any]:
    """The first view; then the same page scrolled card by card to the end, in a fresh tab
    each time: flicked (FLICK_MS a card) and read (READ_MS a card)."""
    context, page = open_tab(chromium, size)
    try:
        traffic = Traffic(page)
        page.goto(url + "/tapes")
        shown = first_shown(page, "thumb")
        settle(page)
        if DETAIL:
            for fetched in traffic.requests.values():
                print(f"  {fetched.bytes:>8} {fetched.kind:<10} {fetched.url}", file=sys.stderr)
        row = {
            "first_kib": traffic.total() / KIB,
            "thumbs": len(traffic.fetched("/thumbnail")),
            "previews": len(traffic.fetched("/preview")),
            "thumb_ms": shown["shown"],
            "load_ms": shown["load"],
        }
    finally:
        context.close()
    for name, pause_ms in (("flicked", FLICK_MS), ("read", READ_MS)):
        row[f"{name}_kib"], row[f"{name}_previews"] = scrolled(chromium, url, size, pause_ms)
    return row


def scrolled(chromium: Any, url: str, size: str, pause_ms: int) -> tuple[float, int]:
    """KiB and previews fetched by the gallery scrolled to its last card, ``pause_ms`` a card."""
    context, page = open_tab(chromium, size)
    try:
        traffic = Traffic(page)
        page.goto(url + "/tapes")
        settle(page)
        cards = page.locator("#grid > li.card")
        for index in range(cards.count()):
            cards.nth(index).scroll_into_view_if_needed()
            page.wait_for_timeout(pause_ms)
        settle(page)
        return traffic.total() / KIB, len(traffic.fetched("/preview"))
    finally:
        context.close()


def tape_round(chromium: Any, url: str, code: str, size: str) -> dict[str, Any]:
    context, page = open_tab(chromium, size)
    try:
        traffic = Traffic(page)
        page.goto(f"{url}/t/{code}")
        shown = first_shown(page, "video")
        settle(page)
        if DETAIL:
            for fetched in traffic.requests.values():
                print(f"  {fetched.bytes:>8} {fetched.kind:<10} {fetched.url}", file=sys.stderr)
        video = traffic.of_kind("Media")
        scripts = traffic.of_kind("Script")
        return {
            "page_kib": (traffic.total() - video) / KIB,
            "scripts_kib": scripts / KIB,
            "video_kib": video / KIB,
            "frame_ms": shown["shown"],
            "load_ms": shown["load"],
        }
    finally:
        context.close()


def measure(url: str, tapes: list[dict[str, Any]], rounds: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with browser.chromium() as chromium:
        # One unmeasured visit: gunicorn's workers and the storage warm up.
        gallery_round(chromium, url, "desktop")
        tape_round(chromium, url, tapes[0]["code"], "desktop")
        for size in SIZES:
            gallery, tape = [], []
            for index in range(rounds):
                gallery.append(gallery_round(chromium, url, size))
                tape.append(tape_round(chromium, url, tapes[0]["code"], size))
                print(
                    f"{size} round {index + 1}/{rounds}: {gallery[-1]} {tape[-1]}", file=sys.stderr
                )
            results[size] = {"gallery": gallery, "tape": tape}
    results["thumbnails_kib"] = sum(media_bytes(t["media"]["thumbnail"]) for t in tapes) / KIB
    results["previews_kib"] = sum(media_bytes(t["media"]["preview"]) for t in tapes) / KIB
    results["mp4_kib"] = media_bytes(tapes[0]["media"]["mp4"]) / KIB
    results["chromium"] = chromium_version()
    return results


def chromium_version() -> str:
    with browser.chromium() as chromium:
        return str(chromium.version)


def med(rows: list[dict[str, Any]], key: str) -> float:
    return statistics.median(row[key] for row in rows)


def verdicts(results: dict[str, Any]) -> list[tuple[str, float, float]]:
    """(budget, measured, limit) of every budget, on the worse of the two sizes."""
    worst = {
        "gallery first view KiB": max(med(results[s]["gallery"], "first_kib") for s in SIZES),
        "tape page before the video KiB": max(med(results[s]["tape"], "page_kib") for s in SIZES),
        "gallery first thumbnail ms": max(med(results[s]["gallery"], "thumb_ms") for s in SIZES),
        "tape first video frame ms": max(med(results[s]["tape"], "frame_ms") for s in SIZES),
    }
    return [(name, worst[name], limit) for name, limit in BUDGETS.items()]


def _frame_to_load(results: dict[str, Any], size: str) -> float:
    return med(results[size]["tape"], "frame_ms") / med(results[size]["tape"], "load_ms")


def render(results: dict[str, Any], args: argparse.Namespace, tapes: int) -> str:
    everything = results["thumbnails_kib"] + results["previews_kib"]
    lines = [
        START,
        "## Page weight (`bench/pages.py`)",
        "",
        f"Measured on {os.cpu_count()} cores ({platform.machine()}), Chromium "
        f"{results['chromium']} headless (software rendering), against gunicorn with the "
        "production settings (whitenoise's compressed static files; media redirected to "
        "SeaweedFS) and one `tapes_worker`, all on this machine (shared: times are noisy). "
        f"{tapes} tapes (~5 s, 300 frames of 256x192, each its own synthetic drawing) posted "
        "through the API and encoded by the worker. Every byte on the wire (headers included) "
        "from DevTools' Network events, cache off; median of "
        f"{args.rounds} rounds. First view: loaded, then no request for 0.5 s, nobody "
        "scrolling or pointing. Thumbnail shown: decoded and handed to a frame; video frame: "
        "`requestVideoFrameCallback`'s presentation time; both from navigation start.",
        "",
        "| | desktop 1280x800 | phone 390x844 |",
        "|---|---:|---:|",
    ]

    def row(label: str, page: str, key: str, fmt: str) -> None:
        cells = [format(med(results[size][page], key), fmt) for size in SIZES]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    row("gallery: first view, KiB", "gallery", "first_kib", ".1f")
    row(f"gallery: thumbnails fetched in the first view (of {tapes})", "gallery", "thumbs", ".0f")
    row("gallery: animated previews fetched in the first view", "gallery", "previews", ".0f")
    row(f"gallery: flicked to the end ({FLICK_MS} ms a card), KiB", "gallery", "flicked_kib", ".1f")
    row("gallery: flicked to the end, previews fetched", "gallery", "flicked_previews", ".0f")
    row(f"gallery: read to the end ({READ_MS} ms a card), KiB", "gallery", "read_kib", ".1f")
    row("gallery: read to the end, previews fetched", "gallery", "read_previews", ".0f")
    row("gallery: first thumbnail shown, ms", "gallery", "thumb_ms", ".0f")
    row("gallery: load event, ms", "gallery", "load_ms", ".0f")
    row("tape page: before the video, KiB", "tape", "page_kib", ".1f")
    row("tape page: of which scripts, KiB", "tape", "scripts_kib", ".1f")
    row("tape page: the video, KiB", "tape", "video_kib", ".1f")
    row("tape page: first video frame presented, ms", "tape", "frame_ms", ".0f")
    row("tape page: load event, ms", "tape", "load_ms", ".0f")
    lines += [
        "",
        f"Reference in the same run: the {tapes} cards' thumbnails weigh "
        f"{results['thumbnails_kib']:.1f} KiB and their animated previews "
        f"{everything - results['thumbnails_kib']:.1f} KiB; a first view that fetched all of them "
        "would transfer ",
    ]
    ratios = []
    for size in SIZES:
        first = med(results[size]["gallery"], "first_kib")
        ratios.append(f"{size}: {first / (first + everything):.2f} of that")
    lines[-1] += (
        "the page plus those. The first view transfers " + "; ".join(ratios) + ". The tape page's "
        f"video (the MP4, {results['mp4_kib']:.1f} KiB stored) is fetched once however often it "
        "loops; its first frame is presented at "
        + "; ".join(f"{size}: {_frame_to_load(results, size):.2f}x" for size in SIZES)
        + " the time of the page's load event. A flick is a race against the 300 ms a card must"
        " rest in view on a touch screen before it plays: its count of previews varies from round"
        " to round."
    )
    lines += [
        "",
        "| budget (docs/pages.md) | measured (worse size) | limit | |",
        "|---|---:|---:|---|",
    ]
    for name, measured, limit in verdicts(results):
        lines.append(
            f"| {name} | {measured:.1f} | {limit} | {'ok' if measured <= limit else 'OVER'} |"
        )
    lines += [
        "",
        f"Reproduce: `.venv/bin/python bench/pages.py --rounds {args.rounds} --write` (starts "
        "everything itself; drops and creates the database given by `--database-url`).",
        END,
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tapes", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tapesite_pages"
        ),
        help="a database the bench may drop and create",
    )
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    parser.add_argument("--detail", action="store_true", help="list every request on stderr")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tapesite-pages-") as tmp:
        workdir = Path(tmp)
        with own_site(args, workdir) as url:
            tapes = post_tapes(url, workdir, args.tapes)
            results = measure(url, tapes, args.rounds)
    section = render(results, args, len(tapes))
    target = ROOT / "docs" / "benchmarks.md" if args.write else None
    browser.publish(section, target, start=START, end=END)
    return 0 if all(measured <= limit for _, measured, limit in verdicts(results)) else 1


if __name__ == "__main__":
    sys.exit(main())
