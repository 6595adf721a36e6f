"""What the benches that drive Chromium share (bench/recorder.py, bench/recorder_library.py):
the repository on the import path, Debian's Chromium through Playwright with the tests' flags,
medians of rounds, and their section of docs/benchmarks.md.

Imported as ``browser`` by a bench run as ``.venv/bin/python bench/<name>.py`` (its folder is
first on the import path)."""

from __future__ import annotations

import os
import re
import statistics
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.browser import CHROMIUM_ARGS, chromium_path  # noqa: E402


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's headless Chromium, launched as the browser tests launch it; closed after."""
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def median(rows: list[dict[str, Any]], key: str) -> float:
    return statistics.median(row[key] for row in rows)


def publish(text: str, write: Path | None, *, start: str, end: str) -> None:
    """Print a bench's section and, with ``write``, put it in that file between its markers
    ``start`` and ``end`` (replacing the last measurement, else at the end)."""
    print(text)
    if write is None:
        return
    current = write.read_text() if write.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end) + r"\n?", re.S)
    if pattern.search(current):
        current = pattern.sub(lambda _: text, current)
    else:
        current = current.rstrip("\n") + "\n\n" + text
    write.write_text(current)
