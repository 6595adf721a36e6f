"""What a page costs in headless Chromium: every byte it transferred (counted from the DevTools
protocol's Network events, so HTML, CSS, scripts, images and video alike, headers included),
and when its first picture was shown. Shared by tests/web/test_page_weight.py (byte budgets)
and bench/pages.py (bytes and times).

    traffic = Traffic(page)             # before page.goto: counts from the first request
    page.goto(url); settle(page)
    traffic.total(), traffic.of_kind("image"), traffic.fetched("/preview")
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

KIB = 1024


@dataclass
class Fetched:
    url: str
    kind: str  # the DevTools resource type: Document, Stylesheet, Script, Image, Media, Fetch ...
    bytes: int = 0  # on the wire: headers and the (compressed) body
    done: bool = False


class Traffic:
    """Every request of one page (its own DevTools session), with the cache off, so a count is
    what a first visit costs."""

    def __init__(self, page: Any) -> None:
        self.requests: dict[str, Fetched] = {}
        self._cdp = page.context.new_cdp_session(page)
        self._cdp.on("Network.requestWillBeSent", self._sent)
        self._cdp.on("Network.dataReceived", self._data)
        self._cdp.on("Network.loadingFinished", self._finished)
        self._cdp.send("Network.enable", {})
        self._cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})

    def _sent(self, event: dict[str, Any]) -> None:
        url = event["request"]["url"]
        if url.startswith("data:"):
            return
        known = self.requests.get(event["requestId"])
        redirect = event.get("redirectResponse")
        if known is not None and redirect is not None:
            # A redirect keeps its request id: the hop is counted under a key of its own.
            hop = Fetched(known.url, known.kind, int(redirect.get("encodedDataLength", 0)), True)
            self.requests[f"{event['requestId']}#{len(self.requests)}"] = hop
        self.requests[event["requestId"]] = Fetched(url, str(event.get("type", "Other")))

    def _data(self, event: dict[str, Any]) -> None:
        fetched = self.requests.get(event["requestId"])
        if fetched is not None and not fetched.done:
            fetched.bytes += int(event.get("encodedDataLength", 0))

    def _finished(self, event: dict[str, Any]) -> None:
        fetched = self.requests.get(event["requestId"])
        if fetched is not None:
            # The whole response on the wire; streamed chunks above are a lower bound of it.
            fetched.bytes = max(fetched.bytes, int(event.get("encodedDataLength", 0)))
            fetched.done = True

    def total(self) -> int:
        return sum(f.bytes for f in self.requests.values())

    def of_kind(self, kind: str) -> int:
        return sum(f.bytes for f in self.requests.values() if f.kind.lower() == kind.lower())

    def fetched(self, part: str) -> list[Fetched]:
        """The requests whose URL holds ``part`` (a tape's code, ``/preview``)."""
        return [f for f in self.requests.values() if part in f.url]

    def by_kind(self) -> dict[str, int]:
        kinds: dict[str, int] = {}
        for f in self.requests.values():
            kinds[f.kind] = kinds.get(f.kind, 0) + f.bytes
        return dict(sorted(kinds.items(), key=lambda item: -item[1]))

    def close(self) -> None:
        self._cdp.detach()


def settle(page: Any, quiet_ms: int = 500) -> None:
    """Wait for the load event and then until no request has been in flight for ``quiet_ms``:
    what the page fetches by itself, without anyone scrolling or pointing."""
    page.wait_for_load_state("load")
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(quiet_ms)


# Watches, from before the page's own scripts run, for the first picture shown: the first card
# thumbnail decoded and handed to a frame, the tape's first video frame presented
# (requestVideoFrameCallback), in ms since navigation start; and the load event's end.
WATCH_FIRST_FRAME = """
(() => {
  const seen = (window.__firstShown = { thumb: null, video: null });
  const thumb = (img) => {
    const shown = () => img.decode().then(
      () => requestAnimationFrame((t) => { if (seen.thumb === null) seen.thumb = t; }),
      () => {},
    );
    if (img.complete && img.naturalWidth) shown(); else img.addEventListener('load', shown);
  };
  const video = (v) => v.requestVideoFrameCallback((now, meta) => {
    if (seen.video === null) seen.video = meta.presentationTime || now;
  });
  new MutationObserver((changes) => {
    for (const change of changes) for (const node of change.addedNodes) {
      if (node.nodeType !== 1) continue;
      if (node.matches('.thumb img')) thumb(node);
      if (node.matches('video')) video(node);
      for (const inner of node.querySelectorAll('.thumb img')) thumb(inner);
      for (const inner of node.querySelectorAll('video')) video(inner);
    }
  }).observe(document, { childList: true, subtree: true });
})();
"""


def first_shown(page: Any, what: str, timeout_ms: int = 15_000) -> dict[str, float]:
    """``what`` ("thumb" or "video"): when it was first shown, and when the page had loaded."""
    page.wait_for_function(
        f"() => window.__firstShown && window.__firstShown.{what} !== null", timeout=timeout_ms
    )
    page.wait_for_load_state("load")
    return dict(
        page.evaluate(
            f"""() => ({{
                shown: window.__firstShown.{what},
                load: performance.getEntriesByType('navigation')[0].loadEventEnd,
            }})"""
        )
    )
