// The spinner example: a canvas animation drawn by this page, recorded and posted by Tapesite's
// <tape-recorder>, loaded from the Tapesite named in ?tapesite= (default http://127.0.0.1:8000).
// Serve this folder on another port to try it (python -m http.server -b 127.0.0.1 -d examples
// 8001), then open http://127.0.0.1:8001/ (the site must list this page's origin as a
// registered site, or the post is refused, and says so).
import { generator } from "./seeded.js";
import { loadLibrary, showLoadError, tapesiteUrl } from "./tapesite.js";

const canvas = document.getElementById("spinner");
const ctx = canvas.getContext("2d", { alpha: false });
const recorder = document.getElementById("recorder");
const log = document.getElementById("log");

let seed = Number(new URLSearchParams(location.search).get("seed")) || 1977;
let arcs = [];

function reseed(next) {
  seed = next;
  const random = generator(seed);
  arcs = Array.from({ length: 7 }, (_, i) => ({
    radius: 14 + i * 9,
    width: 4 + Math.floor(random() * 4),
    length: 0.6 + random() * 3.2,
    speed: (random() < 0.5 ? -1 : 1) * (0.6 + random() * 2.4),
    hue: Math.floor(random() * 360),
  }));
  document.getElementById("seed").textContent = String(seed);
  recorder.setAttribute("seed", String(seed));
}

function draw(ms) {
  const t = ms / 1000;
  const c = canvas.width / 2;
  ctx.fillStyle = "#1b1b2f";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  for (const arc of arcs) {
    ctx.strokeStyle = `hsl(${(arc.hue + t * 40) % 360} 85% 60%)`;
    ctx.lineWidth = arc.width;
    ctx.lineCap = "round";
    ctx.beginPath();
    const start = t * arc.speed;
    ctx.arc(c, c, arc.radius, start, start + arc.length);
    ctx.stroke();
  }
  requestAnimationFrame(draw);
}

reseed(seed);
requestAnimationFrame(draw);
document.getElementById("reseed").addEventListener("click", () => {
  reseed(Math.floor(Math.random() * 1e6));
});

// What the element tells the page: this example only writes it down.
recorder.addEventListener("tape-posted", (event) => {
  log.textContent = `This page heard tape-posted: !${event.detail.answer.code} at ${event.detail.answer.url}`;
});
recorder.addEventListener("tape-failed", (event) => {
  log.textContent = `This page heard tape-failed (${event.detail.error.code}); the element offers Try again.`;
});

const site = tapesiteUrl();
document.getElementById("tapesite").textContent = site || "(no address)";
document.getElementById("frames-link").search = location.search;
(site ? loadLibrary(site, "tape-recorder.js") : Promise.reject(new Error("no address"))).catch(
  (error) => showLoadError(document.getElementById("load-error"), site, error),
);
