// The frames example: Tapesite's library used directly (no element), in frames mode. Each frame
// is drawn from its index alone, then captured with take.frame(ms), so the same seed always
// makes the same tape. The page's state is main's data-state: loading, idle, recording,
// packing, posting, posted, failed, unavailable (the library could not be loaded).
import { loadLibrary, showLoadError, tapesiteUrl } from "./tapesite.js";
import { generator } from "./seeded.js";

const FRAMES = 48;
const FRAME_MS = 1000 / 24;

const main = document.getElementById("example");
const canvas = document.getElementById("orbits");
const ctx = canvas.getContext("2d", { alpha: false });
const recordButton = document.getElementById("record");
const retryButton = document.getElementById("retry");
const status = document.getElementById("status");
const progress = document.getElementById("progress");
const posted = document.getElementById("posted");
const failed = document.getElementById("failed");

const seed = Number(new URLSearchParams(location.search).get("seed")) || 2046;
const random = generator(seed);
const dots = Array.from({ length: 9 }, (_, i) => ({
  radius: 14 + i * 7,
  size: 3 + Math.floor(random() * 5),
  turns: (random() < 0.5 ? -1 : 1) * (1 + Math.floor(random() * 2)),
  phase: random() * Math.PI * 2,
  hue: Math.floor(random() * 360),
}));

let Tapes = null;
let take = null;

// Frame i of the loop: every dot makes a whole number of turns in FRAMES frames, so it loops.
function draw(i) {
  const c = canvas.width / 2;
  ctx.fillStyle = "#10141f";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.lineWidth = 1;
  for (const dot of dots) {
    ctx.strokeStyle = `hsl(${dot.hue} 40% 30%)`;
    ctx.beginPath();
    ctx.arc(c, c, dot.radius, 0, Math.PI * 2);
    ctx.stroke();
  }
  for (const dot of dots) {
    const angle = dot.phase + (dot.turns * Math.PI * 2 * i) / FRAMES;
    ctx.fillStyle = `hsl(${dot.hue} 80% 62%)`;
    ctx.beginPath();
    ctx.arc(c + Math.cos(angle) * dot.radius, c + Math.sin(angle) * dot.radius, dot.size, 0, Math.PI * 2);
    ctx.fill();
  }
}

function show(state, words = "") {
  main.dataset.state = state;
  status.textContent = words;
  recordButton.disabled = !["idle", "posted", "failed"].includes(state);
  if (state === "posted" || state === "failed") recordButton.textContent = "Record again and POST";
  progress.hidden = !["recording", "packing", "posting"].includes(state);
  posted.hidden = state !== "posted";
  failed.hidden = state !== "failed";
}

const STEPS = { start: "Asking Tapesite for an upload slot", upload: "Uploading", register: "Registering" };

function onProgress(event) {
  const { step, fraction } = event.detail;
  progress.value = Math.round(fraction * 100);
  show("posting", `${STEPS[step] || step}… ${Math.round(fraction * 100)}%`);
}

function fail(error) {
  const reason = Tapes.describe(error);
  document.getElementById("reason").textContent = reason;
  // The site's own sentence says more (which origin, which limit); shown when it adds something.
  const said = error && error.message && error.message !== reason ? error.message : "";
  document.getElementById("said").textContent = said;
  failed.dataset.code = (error && error.code) || "";
  show("failed", "");
  retryButton.focus();
}

function succeed(answer) {
  const link = document.getElementById("posted-link");
  link.href = answer.url;
  link.textContent = answer.url;
  document.getElementById("claim").hidden = !answer.claimUrl;
  if (answer.claimUrl) document.getElementById("claim-link").href = answer.claimUrl;
  posted.dataset.code = answer.code;
  show("posted", "");
}

async function post() {
  show("posting", "Posting…");
  progress.value = 0;
  try {
    succeed(await take.post());
  } catch (error) {
    fail(error);
  }
}

async function recordAndPost() {
  if (take) take.discard();
  take = null;
  try {
    take = Tapes.record(canvas, {
      mode: "frames",
      piece: "orbits",
      maxFrames: FRAMES,
      source: new URL("frames.js", location.href).href,
      seed: String(seed),
    });
    take.addEventListener("progress", onProgress);
    for (let i = 0; i < FRAMES; i += 1) {
      draw(i);
      show("recording", `Recording frame ${i + 1} of ${FRAMES}`);
      progress.value = Math.round(((i + 1) / FRAMES) * 100);
      // The last frame reaches maxFrames: the take stops (and packs) by itself.
      await take.frame(FRAME_MS);
    }
    show("packing", "Packing the tape…");
    await take.stop();
  } catch (error) {
    fail(error);
    return;
  }
  await post();
}

recordButton.addEventListener("click", recordAndPost);
// A take that was packed is posted again (the library resumes where it failed); one that never
// got that far is recorded again.
retryButton.addEventListener("click", () => (take && take.recorded ? post() : recordAndPost()));

draw(0);
document.getElementById("seed").textContent = String(seed);
document.getElementById("frame-count").textContent = String(FRAMES);
document.getElementById("spinner-link").search = location.search;
const site = tapesiteUrl();
document.getElementById("tapesite").textContent = site || "(no address)";
(site ? loadLibrary(site, "tapes.js") : Promise.reject(new Error("no address"))).then(
  (library) => {
    Tapes = library;
    show("idle", "Ready.");
  },
  (error) => {
    showLoadError(document.getElementById("load-error"), site, error);
    show("unavailable", "");
  },
);
