"""Headless Chromium (Debian's, not a downloaded build) driven by Playwright's sync API.

``browser`` is one Chromium for the session; ``page`` a fresh context per test, with a screenshot
saved under ``artifacts/screenshots/`` when the test fails (ignored by git). Playwright's sync API
runs an event loop in the test thread, so Django's async-safety check must be relaxed for the
``live_server`` tests that use it.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


def chromium_path() -> str:
    found = os.environ.get("TAPES_CHROMIUM") or shutil.which("chromium")
    if not found:
        raise RuntimeError("Chromium is missing: the test command installs Debian's chromium")
    return found


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def save_screenshot(page: Any, name: str) -> Path:
    """Keep a picture of what the page showed, for a person to look at after the run."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    target = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
    page.screenshot(path=str(target), full_page=True)
    return target


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    failed = getattr(request.node, "report_call", None)
    if failed is not None and failed.failed:
        save_screenshot(tab, f"FAILED-{request.node.name}")
    context.close()


# Every Content-Security-Policy violation the page reports, kept on window for the test to read
# (an init script: it runs before the page's own, and CSP does not apply to it).
_WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
    window.__cspViolations.push(`${e.effectiveDirective} refused ${e.blockedURI || 'inline'}`
        + ` at ${e.sourceFile || document.location.pathname}:${e.lineNumber}`);
});
"""


class CspWatch:
    """What Chromium refused under the site's CSP, from the console ("Refused to ...") and from
    securitypolicyviolation events, across every page the tab opens."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.console: list[str] = []
        page.context.add_init_script(_WATCH_CSP)
        page.on("console", self._console)

    def _console(self, message: Any) -> None:
        text = message.text
        if "Content Security Policy" in text or text.startswith("Refused to"):
            self.console.append(text)

    def violations(self) -> list[str]:
        events = self.page.evaluate("() => window.__cspViolations || []")
        return [*self.console, *events]
