"""Another website's page with a <tape-recorder> on it, for the element's browser tests: served by
a loopback listener the test owns (its own origin, as a creative-coding site is), under a strict
Content-Security-Policy with no inline script or style, importing the element from the site by
absolute URL. The page records what the element tells it (events, every state it passes) on
``window`` for the test to read."""

from __future__ import annotations

import html
import json
import socket
from typing import Any

from sites import services as sites
from tests.support.listeners import Behaviour, Listener

# The piece: a dot orbiting on a dark ground, or (data-still) the ground alone, never redrawn.
PIECE_JS = b"""
const root = document.documentElement;
const config = JSON.parse(document.getElementById("piece-config").textContent);
const canvas = document.getElementById("art");
const ctx = canvas.getContext("2d");
const recorder = document.getElementById("recorder");
const GROUND = "#1d2b53";

function ground() {
  ctx.fillStyle = GROUND;
  ctx.fillRect(0, 0, canvas.width, canvas.height);
}

function dot(turn, colour) {
  const x = canvas.width / 2 + Math.cos(turn) * canvas.width * 0.3;
  const y = canvas.height / 2 + Math.sin(turn) * canvas.height * 0.3;
  ctx.fillStyle = colour;
  ctx.fillRect(x - 6, y - 6, 12, 12);
}

function draw(ms) {
  if (!config.still) {
    ground();
    dot(ms / 300, "#ff004d");
  }
  requestAnimationFrame(draw);
}
ground();
requestAnimationFrame(draw);

window.events = [];
recorder.addEventListener("tape-start", () => window.events.push("tape-start"));
recorder.addEventListener("tape-limit", () => window.events.push("tape-limit"));
recorder.addEventListener("tape-recorded", (event) => {
  window.events.push("tape-recorded");
  window.recorded = event.detail.result;
});
recorder.addEventListener("tape-posted", (event) => {
  window.events.push("tape-posted");
  window.answer = event.detail.answer;
});
recorder.addEventListener("tape-failed", (event) => {
  window.events.push(`tape-failed:${event.detail.error.code}`);
});
recorder.addEventListener("tape-discarded", () => window.events.push("tape-discarded"));
recorder.addEventListener("tape-cancelled", () => window.events.push("tape-cancelled"));

// Every value the state attribute took, in order (a record per change: its old value).
const changes = [];
new MutationObserver((records) => {
  for (const record of records) changes.push(record.oldValue);
}).observe(recorder, { attributes: true, attributeFilter: ["state"], attributeOldValue: true });
window.stateTrail = () => {
  const trail = [];
  for (const state of [...changes, recorder.getAttribute("state")]) {
    if (state !== null && trail[trail.length - 1] !== state) trail.push(state);
  }
  return trail;
};

// Frames mode: this page makes every frame itself, through the element's take, then stops.
recorder.addEventListener("tape-start", async () => {
  if (recorder.getAttribute("mode") !== "frames") return;
  const take = recorder.take;
  for (let i = 0; i < config.frames; i += 1) {
    ground();
    dot((i / config.frames) * Math.PI * 2, `hsl(${i * 30} 90% 60%)`);
    await take.frame(config.frameMs);
  }
  window.framesMade = config.frames;
  recorder.stop();
});

import(`${config.site}/static/tapes/tape-recorder.js`).then(
  () => customElements.whenDefined("tape-recorder"),
).then(() => {
  root.dataset.ready = "true";
}, (error) => {
  root.dataset.ready = `failed: ${error.message}`;
});
"""

PIECE_CSS = b"""
body { margin: 0; background: #f4efe6; color: #1b1b2f; font: 16px/1.5 system-ui, sans-serif; }
main { max-width: 40rem; margin: 0 auto; padding: 1rem; display: grid; gap: 1rem; }
h1 { margin: 0; }
canvas { width: 100%; max-width: 240px; image-rendering: pixelated; border-radius: 6px; }
"""

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Orbits</title>
  <link rel="stylesheet" href="/piece.css">
</head>
<body>
<main>
  <h1>Orbits</h1>
  <canvas id="art" width="120" height="90" aria-label="A red dot orbiting"></canvas>
  <tape-recorder id="recorder" for="art" {attributes}></tape-recorder>
</main>
<script type="application/json" id="piece-config">{config}</script>
<script type="module" src="/piece.js"></script>
</body>
</html>
"""


def policy(site: str) -> str:
    """No inline script or style anywhere: the element must work under it. Workers from blob:
    and the site (the library's packing worker starts from a blob: that imports the site's
    pack-worker.js, and a module worker's imports are governed by worker-src, not script-src);
    calls to any loopback port (the site, storage, the closed port a test points storage at)."""
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src 'self' {site}",
            f"style-src 'self' {site}",
            "img-src 'self' data:",
            f"worker-src blob: {site}",
            "connect-src 'self' http://localhost:* http://127.0.0.1:*",
        ]
    )


def serve(routes: dict[str, tuple[str, bytes]], csp: str) -> Behaviour:
    """Answer GET <path> from ``routes`` (content type, body), each answer under ``csp``."""

    def behave(listener: Listener, conn: socket.socket) -> None:
        while not listener.stop.is_set():
            request = listener.read_request(conn)
            if request is None:
                return
            path = request.split(b" ", 2)[1].decode().partition("?")[0]
            status, (kind, body) = "200 OK", routes.get(path, ("text/plain", b""))
            if path not in routes:
                status, body = "404 Not Found", b"not here"
            head = (
                f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n"
                f"Content-Security-Policy: {csp}\r\nCache-Control: no-store\r\n\r\n"
            )
            conn.sendall(head.encode() + body)

    return behave


def element_page(
    listener: Any,
    site: str,
    attributes: dict[str, str],
    *,
    still: bool = False,
    frames: int = 0,
    frame_ms: float = 40,
) -> Listener:
    """Start the piece's own site (a listener) with the element on its page; returns it."""
    shown = " ".join(f'{name}="{html.escape(value)}"' for name, value in attributes.items())
    config = json.dumps({"site": site, "still": still, "frames": frames, "frameMs": frame_ms})
    page = PAGE.format(attributes=shown, config=config.replace("<", "\\u003c"))
    routes = {
        "/": ("text/html; charset=utf-8", page.encode()),
        "/piece.js": ("text/javascript", PIECE_JS),
        "/piece.css": ("text/css", PIECE_CSS),
    }
    started: Listener = listener(serve(routes, policy(site)))
    return started


def open_page(page: Any, other: Listener) -> None:
    """Open the piece's page and wait until the element is defined (fails with the reason)."""
    page.goto(other.url + "/")
    page.wait_for_function("() => document.documentElement.dataset.ready")
    ready = page.evaluate("() => document.documentElement.dataset.ready")
    assert ready == "true", ready


# The states a take passes through from Record to posted, as the state attribute shows them.
POSTED_WALK = ["idle", "recording", "packing", "recorded", "posting", "posted"]


def wait_state(page: Any, state: str, timeout: float = 15_000) -> None:
    page.locator(f"tape-recorder[state={state}]").wait_for(timeout=timeout)


def registered(other: Any) -> None:
    """The piece's site is registered with Tapesite (its origin may post, as guests)."""
    sites.site_create(origin=other.url, name="Orbits")


def open_piece(page: Any, listener: Any, site: str, seconds: str = "10") -> Any:
    """The usual piece (orbits, realtime) on a registered site of its own, opened."""
    other = element_page(listener, site, {"piece": "orbits", "seconds": seconds})
    registered(other)
    open_page(page, other)
    return other


def record_and_stop(page: Any, seconds: float = 0.6) -> None:
    recorder = page.locator("tape-recorder")
    recorder.get_by_role("button", name="Record").click()
    wait_state(page, "recording")
    page.wait_for_timeout(int(seconds * 1000))
    recorder.get_by_role("button", name="Stop").click()
    wait_state(page, "recorded")


def shadow_text(page: Any, selector: str) -> str:
    return str(
        page.evaluate(
            "(s) => document.querySelector('tape-recorder').shadowRoot.querySelector(s).innerText",
            selector,
        )
    )
