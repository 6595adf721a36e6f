// The recorder page: the drawing piece, Record/Stop around it, a preview of the take, and POST.
// Recording, packing and posting are the recorder library's (static/tapes/, docs/recorder.md):
// frames are captured at the canvas' own size (1x) on every animation frame (at most 60 per
// second) and packed into the tape ZIP in its worker as they come.
//
// The page's state is #recorder's data-state: idle, recording, packing, recorded, posting,
// posted, failed (the post failed; a post that stalls fails too), or pack-failed (the take could not be packed: drawing again
// as in idle, with the reason). The CSS shows each part from it (data-show in tapesite.css);
// this script only sets the state and disables what must not be pressed.
//
// A finished take that is not posted is kept in the browser (takes.js) as soon as it is packed,
// and comes back after a reload; "Record again" and leaving the page ask before it is lost. A
// take in which nothing was drawn (data-blank) cannot be posted. Cancel while posting goes back
// to the recorded take (POST sends it again; an upload already in storage is only registered).
import { PAPER, Paper } from "./draw.js";
import { attachOpenTape } from "./opentape.js";
import { FramePlayer } from "./frameplayer.js";
import { keepClaim } from "./claims.js";
import { describe } from "./post.js";
import { Poster } from "../tapes/post.js";
import * as Tapes from "../tapes/tapes.js";
import { attachShare } from "./share.js";
import { copyText, formatBytes, formatSeconds } from "./site.js";
import { agoInWords, forgetTake, framesOf, keepTake, keptTake } from "./takes.js";

const config = JSON.parse(document.getElementById("recorder-config").textContent);
const root = document.getElementById("recorder");
const $ = (id) => document.getElementById(id);

const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");

const paper = new Paper($("paper"));
const player = new FramePlayer($("take"));
let poster = null;

let state = "idle";
let recording = null; // the library's take while it records and packs
let take = null; // {id, zip, frames, durations, metadata, blank, url, name, savedAt}
let posted = null;

// The states in which the paper takes drawing (and Undo), as in idle.
const DRAWING = new Set(["idle", "recording", "pack-failed"]);

function setState(next) {
  state = next;
  root.dataset.state = next;
  const drawing = DRAWING.has(next);
  $("toolbar").querySelectorAll("input, button").forEach((el) => {
    el.disabled = !drawing;
  });
  $("again").disabled = next === "posting";
  $("undo").disabled = !drawing || !paper.canUndo;
}

function showTime(ms) {
  $("rec-time").textContent = formatSeconds(ms);
  $("rec-progress").value = ms / 1000;
  $("rec-limit").textContent = `${formatSeconds(ms)} / ${config.limitSeconds} s`;
}

// --- recording ------------------------------------------------------------------------------

function record() {
  discardTake();
  recording = Tapes.record(paper.canvas, {
    mode: "realtime",
    piece: config.piece,
    blankColour: PAPER,
    maxSeconds: config.limitSeconds,
    maxFrames: config.maxFrames,
    site: window.location.origin,
    preview: true,
  });
  recording.addEventListener("frame", (event) => showTime(event.detail.ms));
  recording.addEventListener("limit", () => stop());
  setState("recording");
  showTime(0);
  $("stop").focus();
}

async function stop() {
  if (state !== "recording" || !recording) return;
  const current = recording;
  setState("packing");
  $("take-summary").textContent = "Packing your take…";
  showTime(current.elapsed);
  try {
    const result = await current.stop();
    const id = `${result.metadata.created}-${Math.random().toString(36).slice(2, 10)}`;
    take = {
      zip: result.zip,
      frames: result.pngs,
      durations: result.durations,
      metadata: result.metadata,
      blank: result.blank,
      id,
      url: URL.createObjectURL(result.zip),
      name: current.filename,
      savedAt: Date.now(),
    };
    showTake();
    if (!take.blank) keep(take);
  } catch (error) {
    if (error.code === "take_empty") {
      // Stopped before the first animation frame: nothing was recorded.
      $("take-summary").textContent = "";
      setState("idle");
    } else {
      $("take-summary").textContent = `The take could not be packed: ${error.message}`;
      setState("pack-failed");
    }
  } finally {
    if (recording === current) recording = null;
  }
}

// --- the take ---------------------------------------------------------------------------------

function showTake() {
  posted = null;
  poster = new Poster();
  // An opened tape (opentape.js) brings its own counts and words; its metadata is as it was read.
  const { duration, frames } = take.counts || take.metadata;
  $("take-summary").textContent =
    take.summary ||
    `Your take: ${formatSeconds(duration)} s, ${frames} frames, ${formatBytes(take.zip.size)}.`;
  root.dataset.takeMs = String(duration);
  root.dataset.takeFrames = String(frames);
  root.dataset.opened = String(Boolean(take.summary));
  root.dataset.blank = String(take.blank);
  showTime(duration);
  say("", "");
  $("download").href = take.url;
  $("download").download = take.name;
  setState("recorded");
  $("post").disabled = take.blank;
  player.load(take.frames.map((blob, i) => ({ blob, duration: take.durations[i] })));
  if (reducedMotion.matches) player.showFirst();
  else player.play();
  $(take.blank ? "again" : "post").focus();
}

// A line under the take's summary (a code for scripts and tests, the words for people).
function say(code, words) {
  $("take-notice").dataset.code = code;
  $("take-notice").textContent = words;
}

function discardTake() {
  player.destroy();
  if (take) URL.revokeObjectURL(take.url);
  take = null;
  posted = null;
  delete root.dataset.blank;
  delete root.dataset.kept;
  delete root.dataset.opened;
}

// A take that would be lost: finished, something drawn, not posted.
function unposted() {
  return Boolean(take && !take.blank && !posted);
}

// Keeping is best effort: without it the take still works, it just does not survive the tab.
async function keep(kept) {
  root.dataset.kept = "saving";
  try {
    const { id, zip, metadata, name, savedAt } = kept;
    await keepTake({ id, zip, metadata, name, savedAt });
    if (take === kept && !posted) root.dataset.kept = "saved";
  } catch {
    if (take !== kept) return;
    root.dataset.kept = "failed";
    say(
      "keep_failed",
      "This browser could not keep a copy of this take: post or download it before you leave.",
    );
  }
}

function forget(forgotten) {
  if (!forgotten || forgotten.blank) return;
  forgetTake(forgotten.id).catch(() => {
    // nothing kept, or the store is out of reach: there is nothing left to remove either way
  });
}

// The in-page question before an unposted take is thrown away: resolves to true for Discard.
function confirmDiscard() {
  const dialog = $("discard-dialog");
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "discard"), {
      once: true,
    });
    dialog.showModal();
  });
}

async function again() {
  if (unposted() && !(await confirmDiscard())) {
    $("again").focus();
    return;
  }
  const dropped = posted ? null : take;
  discardTake();
  forget(dropped);
  $("take-summary").textContent = "";
  say("", "");
  showTime(0);
  setState("idle");
  $("record").focus();
}

// After a reload or a visit elsewhere: the take that was not posted, back as it was.
async function restore() {
  let kept = null;
  try {
    kept = await keptTake();
  } catch {
    return; // no store in this browser: nothing can have been kept
  }
  if (!kept || !(kept.zip instanceof Blob) || state !== "idle") return;
  let preview;
  try {
    preview = await framesOf(kept.zip);
  } catch {
    forget({ id: kept.id, blank: false }); // unreadable: it could never be shown or posted
    return;
  }
  if (state !== "idle") return;
  take = {
    ...kept,
    ...preview,
    blank: false,
    url: URL.createObjectURL(kept.zip),
  };
  showTake();
  root.dataset.kept = "saved";
  say("restored", `Your unposted take from ${agoInWords(kept.savedAt)} is back.`);
}

// A tape ZIP opened from a file (opentape.js) replaces the take, as a new recording would.
function showOpened(opened) {
  const dropped = posted ? null : take;
  discardTake();
  forget(dropped);
  const savedAt = Date.now();
  take = { ...opened, id: `opened-${savedAt}`, blank: false, url: URL.createObjectURL(opened.zip), savedAt };
  showTake();
}

// --- posting ----------------------------------------------------------------------------------

const STEPS = {
  start: "Getting an upload slot…",
  upload: "Uploading…",
  register: "Registering your tape…",
};

const CANCELLED = "Posting cancelled. Your take is kept: POST it when you are ready.";

async function post() {
  if (!take || take.blank) return;
  if ($("take-notice").dataset.code === "post_cancelled") say("", "");
  setState("posting");
  $("post-progress").value = 0;
  $("post-step").textContent = STEPS.start;
  try {
    posted = await poster.post({
      site: window.location.origin,
      zip: take.zip,
      piece: take.piece || config.piece,
      metadata: take.metadata,
      keepClaims: false, // kept below, where the site's own pages look for them (claims.js)
      onProgress: (step, fraction) => {
        if (step === "upload" && fraction > 0) {
          const percent = Math.round(fraction * 100);
          $("post-progress").value = percent;
          $("post-step").textContent = `Uploading… ${percent}%`;
          return;
        }
        $("post-step").textContent = STEPS[step];
        if (step === "register") $("post-progress").value = 100;
      },
    });
    if (posted.claim_token) keepClaim(posted.code, posted.claim_token);
  } catch (error) {
    $("post-step").textContent = "";
    if (error.code === "post_cancelled") {
      say(error.code, CANCELLED);
      setState("recorded");
      $("post").focus();
      return;
    }
    $("failed-reason").textContent = describe(error, config.errors);
    $("failed-reason").dataset.code = error.code;
    setState("failed");
    $("retry").focus();
    return;
  }
  const path = config.tapePageUrl.replace("CODE", encodeURIComponent(posted.code));
  $("posted-link").textContent = `!${posted.code}`;
  $("posted-link").href = path;
  $("post-step").textContent = "";
  $("copy-done").textContent = "";
  take.name = `${posted.slug}.zip`;
  $("download").download = take.name;
  forget(take);
  root.dataset.kept = "posted";
  say("", "");
  setState("posted");
  $("posted-link").focus();
}

function postedUrl() {
  return new URL($("posted-link").getAttribute("href"), window.location.href).href;
}

async function copyLink() {
  const url = postedUrl();
  $("copy-done").textContent = (await copyText(url)) ? "Copied!" : url;
}

// --- wiring -----------------------------------------------------------------------------------

$("record").addEventListener("click", record);
$("stop").addEventListener("click", () => stop());
$("post").addEventListener("click", post);
$("retry").addEventListener("click", post);
$("cancel-post").addEventListener("click", () => {
  if (state === "posting" && poster) poster.cancel();
});
$("again").addEventListener("click", again);
$("copy-link").addEventListener("click", copyLink);
attachShare($("share-link"), {
  title: () => `${$("posted-link").textContent} on Tapesite`,
  url: postedUrl,
});
$("undo").addEventListener("click", () => paper.undo());
$("clear").addEventListener("click", () => paper.clear());
paper.onchange = () => {
  $("undo").disabled = !DRAWING.has(state) || !paper.canUndo;
};

for (const input of document.querySelectorAll("input[name=colour]")) {
  input.addEventListener("change", () => {
    paper.colour = input.value;
  });
  if (input.checked) paper.colour = input.value;
}
for (const input of document.querySelectorAll("input[name=size]")) {
  input.addEventListener("change", () => {
    paper.size = Number(input.value);
  });
  if (input.checked) paper.size = Number(input.value);
}

document.addEventListener("keydown", (event) => {
  const typing = event.target.closest && event.target.closest("input[type=text], textarea");
  if (typing) return;
  if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "z") {
    event.preventDefault();
    if (DRAWING.has(state)) paper.undo();
  }
});

window.addEventListener("beforeunload", (event) => {
  if (!unposted()) return;
  // Browsers show their own words; the take is kept all the same, but say it is not posted.
  event.preventDefault();
  event.returnValue = "";
});

attachOpenTape({
  root,
  input: $("open-input"),
  notice: $("open-notice"),
  limits: config.archiveLimits,
  uploadMaxBytes: config.uploadMaxBytes,
  words: config.openWords,
  ready: () => ["idle", "recorded", "posted", "failed", "pack-failed"].includes(state),
  replace: async () => !unposted() || confirmDiscard(),
  show: showOpened,
});

setState("idle");
restore().finally(() => {
  root.dataset.ready = "true";
});
