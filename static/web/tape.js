// The tape page. A ready tape plays its MP4 (server-rendered). Until then the page polls the API
// for the video's progress, and once the site has checked the uploaded ZIP (the encode job's
// archive check: the API then reports its frames) it plays the frames straight from it, within
// the bounds the page was given (tapezip.js); when the video is ready it takes over. An unchecked
// ZIP is never opened here: every visitor's browser would unpack whatever was uploaded. A failure shows the reason, and
// the owner a retry. The article's data-state is the tape's status (uploaded, queued, processing,
// ready, failed): the CSS shows the progress or the failure from it (see data-show in
// tapesite.css); the template renders the first one. The player's controls (player.js) drive
// whichever of the two plays.
import {
  attachControls,
  framesSource,
  roundedDurations,
  videoSource,
} from "./player.js";
import { attachShare } from "./share.js";
import { ApiError, api, copyText } from "./site.js";

const state = JSON.parse(document.getElementById("tape-state").textContent);
const words = JSON.parse(document.getElementById("tape-words").textContent);
const $ = (id) => document.getElementById(id);
const article = $("tape");
const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");
const POLL_MS = 1000;

const VIDEO_RETRIES = 3;
const VIDEO_RETRY_MS = 3000;

let player = null;
let video = $("tape-video");
let pollTimer = 0;
let videoFailures = 0;
let validated = Boolean(state.validated) || state.status === "ready";
let zipDurations = null; // the recording's own frame times, once played from the ZIP
let known = state; // the latest the page heard of the tape (frames, duration_ms)

const controls = attachControls($("player"), null, {
  art: state.width && state.height ? { width: state.width, height: state.height } : null,
});

function failureWords(code) {
  if (!code) return "";
  if (words.codes[code]) return words.codes[code];
  for (const [prefix, text] of Object.entries(words.prefixes)) {
    if (code.startsWith(prefix)) return text;
  }
  return words.fallback;
}

// --- the player's controls ----------------------------------------------------------------------

/** The video's frame times: the encoder's own, else the recording's rounded the way the encoder
 * rounds them, else equal steps over the tape's length (tapes made before the list was kept). */
function videoFrameMs() {
  if (state.frame_ms && state.frame_ms.length) return state.frame_ms;
  if (zipDurations && zipDurations.length) return roundedDurations(zipDurations);
  const frames = Number(known.frames);
  const total = Number(known.duration_ms);
  if (frames > 0 && total > 0) return roundedDurations(Array(frames).fill(total / frames));
  return [];
}

function setUpVideo(element) {
  // Reduced motion, or a person who paused the recording: the video waits for Play.
  if (reducedMotion.matches || controls.pausedByUser) {
    element.removeAttribute("autoplay");
    element.pause();
  }
  controls.setSource(videoSource(element, videoFrameMs()));
}

// --- frames from the ZIP ----------------------------------------------------------------------

// What the screen says while it shows no picture, and the line under the progress bar.
const NOTES = {
  waiting: "The recording plays here once the site has checked it.",
  playing: "Meanwhile, this plays the recording itself.",
  refused: "This recording is too large or damaged to play in the browser.",
  failed: "The recording cannot be played here yet.",
  unplayable: "This recording cannot be played.",
  later: "The video will play here when it is ready.",
};

function showScreenNote(text) {
  const note = $("screen-note");
  note.textContent = text;
  note.hidden = !text;
}

async function playFromZip() {
  const canvas = $("tape-frames");
  const busy = ["loading", "playing", "refused"].includes(article.dataset.zipPlayback);
  if (!canvas || !state.media.zip || player || busy) return;
  if (!validated) {
    article.dataset.zipPlayback = "waiting";
    return;
  }
  article.dataset.zipPlayback = "loading";
  $("status-note").textContent = NOTES.playing;
  showScreenNote("Loading the recording…");
  // The ZIP reader (with its inflater) and the frame player load only here: a ready tape's
  // page never needs them.
  let zip = null;
  try {
    const [zipModule, { FramePlayer }] = await Promise.all([
      import("./tapezip.js"),
      import("./frameplayer.js"),
    ]);
    zip = zipModule;
    const { TIMING_NAME, TapeZipError, fetchTapeZip, unzipTape } = zip;
    const files = await unzipTape(await fetchTapeZip(state.media.zip, state.limits), state.limits);
    if (!files[TIMING_NAME]) throw new TapeZipError("corrupt", "no timing.json");
    const timing = JSON.parse(new TextDecoder().decode(files[TIMING_NAME]));
    if (!Array.isArray(timing)) throw new TapeZipError("corrupt", "timing.json is not a list");
    const frames = timing
      .filter((entry) => entry && files[entry.filename])
      .map((entry) => ({
        blob: new Blob([files[entry.filename]], { type: "image/png" }),
        duration: Number(entry.duration) || 16.7,
      }));
    if (!frames.length) throw new Error("no frames");
    zipDurations = frames.map((frame) => frame.duration);
    if (video && !video.hidden) return; // the MP4 arrived first
    player = new FramePlayer(canvas);
    player.load(frames);
    // "playing" means a picture is on screen: the first frame is decoded and drawn before the
    // page says so, whether or not it then moves.
    const shown = await player.showFirst();
    if ((video && !video.hidden) || !player) return; // the MP4 took over meanwhile
    if (!shown) throw new Error("the first frame could not be decoded");
    showScreenNote("");
    controls.setSource(framesSource(player));
    if (!reducedMotion.matches) player.play();
    article.dataset.zipPlayback = "playing";
    article.dataset.zipFrames = String(frames.length);
  } catch (error) {
    const refused = Boolean(zip) && error instanceof zip.TapeZipError;
    article.dataset.zipPlayback = refused ? "refused" : "failed";
    if (refused) article.dataset.zipRefusal = error.code;
    article.dataset.zipError = String(error && error.message ? error.message : error);
    console.warn("playing the recording:", error);
    if (player) player.destroy();
    player = null;
    if (!video || video.hidden) controls.setSource(null);
    if (!video || video.hidden) showScreenNote(refused ? NOTES.refused : NOTES.failed);
    $("status-note").textContent = NOTES.later;
  }
}

// --- the video --------------------------------------------------------------------------------

function watchForFailure(element) {
  const failed = () => {
    // The video did not load (a network hiccup, a link that expired): play the recording
    // instead, and ask the API for fresh links a little later.
    if (video !== element) return;
    const shown = !element.hidden;
    element.remove();
    video = null;
    videoFailures += 1;
    article.dataset.videoError = String(videoFailures);
    if (shown && !$("tape-frames")) {
      const canvas = document.createElement("canvas");
      canvas.id = "tape-frames";
      canvas.className = "pixels";
      // The drawing's size in the box the video had, so nothing under the screen jumps while
      // the visitor is reaching for it.
      canvas.width = Number(state.width) || 256;
      canvas.height = Number(state.height) || 192;
      canvas.style.width = element.style.width;
      canvas.style.height = element.style.height;
      $("screen").append(canvas);
    }
    if (shown) controls.setSource(player ? framesSource(player) : null);
    if (!player) playFromZip();
    if (videoFailures <= VIDEO_RETRIES && !pollTimer) {
      pollTimer = window.setTimeout(poll, VIDEO_RETRY_MS * videoFailures);
    }
  };
  element.addEventListener("error", failed, { once: true });
  // A server-rendered video may have failed before this module ran: its error event is gone.
  if (element.error || element.networkState === HTMLMediaElement.NETWORK_NO_SOURCE) failed();
}

function showVideo(media) {
  if (video || !media.mp4) return;
  const element = document.createElement("video");
  element.id = "tape-video";
  element.className = "pixels";
  element.loop = true;
  element.muted = true;
  element.playsInline = true;
  element.preload = "auto";
  element.autoplay = !reducedMotion.matches && !controls.pausedByUser;
  element.setAttribute("aria-label", `The tape !${state.code}`);
  if (media.thumbnail) element.poster = media.thumbnail;
  element.addEventListener(
    "loadeddata",
    () => {
      // Swap only once the video can show a frame, so the picture never blanks.
      const canvas = $("tape-frames");
      if (canvas) canvas.replaceWith(element);
      element.hidden = false;
      showScreenNote("");
      if (player) player.destroy();
      player = null;
      if (!reducedMotion.matches && !controls.pausedByUser) element.play().catch(() => {});
      setUpVideo(element);
    },
    { once: true },
  );
  watchForFailure(element);
  element.hidden = true;
  $("screen").append(element);
  element.src = media.mp4;
  video = element;
}

function showDownloads(media) {
  for (const kind of ["mp4", "gif"]) {
    const link = $(`download-${kind}`);
    if (link && media[kind]) {
      link.href = media[kind];
      link.parentElement.hidden = false;
    }
  }
}

// --- status -----------------------------------------------------------------------------------

function render(tape) {
  known = tape;
  article.dataset.state = tape.status;
  if (!validated && (tape.frames != null || tape.status === "ready")) {
    // The site has checked the recording: it may play here now.
    validated = true;
    if (article.dataset.zipPlayback === "waiting") delete article.dataset.zipPlayback;
    if (tape.status !== "ready") playFromZip();
  }
  if (!validated) showScreenNote(tape.status === "failed" ? NOTES.unplayable : NOTES.waiting);
  $("status-words").textContent = words.status[tape.status] || tape.status;
  $("status-progress").value = tape.progress || 0;
  if (tape.status === "failed") {
    $("failure-words").textContent = failureWords(tape.failure && tape.failure.code);
  }
  if (tape.status === "ready") {
    showVideo(tape.media);
    showDownloads(tape.media);
  }
}

async function poll() {
  pollTimer = 0;
  try {
    const tape = await api(state.api_url);
    render(tape);
    if (tape.status === "ready" || tape.status === "failed") return;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      showScreenNote("");
      $("status-words").textContent = "This tape was taken down";
      return;
    }
    // offline for a moment, or the site hiccuped: keep polling
  }
  pollTimer = window.setTimeout(poll, POLL_MS);
}

async function retryEncode() {
  const button = $("retry-encode");
  button.disabled = true;
  try {
    render(await api(state.retry_url, { method: "POST" }));
    if (!pollTimer) poll();
  } catch (error) {
    // The site's answer says why; with no answer at all the reason stays as it was.
    if (!(error instanceof ApiError) || error.code === "network_error") throw error;
    $("failure-words").textContent = error.message;
  } finally {
    button.disabled = false;
  }
}

// --- copy link --------------------------------------------------------------------------------

$("copy-link").addEventListener("click", async () => {
  if (await copyText($("share-link").value)) {
    $("copy-done").textContent = "Copied!";
  } else {
    $("share-link").select();
    $("copy-done").textContent = "Press Ctrl+C to copy.";
  }
});

// Phones get the system share sheet beside "Copy link".
attachShare($("share-tape"), {
  title: document.title.replace(/ · Tapesite$/, ""),
  url: () => $("share-link").value,
});

if ($("retry-encode")) $("retry-encode").addEventListener("click", retryEncode);

if (video) {
  watchForFailure(video);
  setUpVideo(video);
} else {
  if (!validated) showScreenNote(state.status === "failed" ? NOTES.unplayable : NOTES.waiting);
  playFromZip();
  if (state.status !== "ready" && state.status !== "failed") poll();
  else if (state.status === "ready") render({ ...state, failure: null });
}
