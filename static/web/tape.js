// The tape page. A ready tape plays its MP4 (server-rendered). Until then the page plays the
// frames straight from the uploaded ZIP, so the tape is watchable at once, and polls the API for
// the video's progress; when the video is ready it takes over. A failure shows the reason, and
// the owner a retry. The article's data-state is the tape's status (uploaded, queued, processing,
// ready, failed): the CSS shows the progress or the failure from it (see data-show in
// tapesite.css); the template renders the first one.
import { unzip } from "../vendor/fflate/fflate.js";
import { FramePlayer } from "./player.js";
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

function failureWords(code) {
  if (!code) return "";
  if (words.codes[code]) return words.codes[code];
  for (const [prefix, text] of Object.entries(words.prefixes)) {
    if (code.startsWith(prefix)) return text;
  }
  return words.fallback;
}

// --- play / pause -----------------------------------------------------------------------------

function setPlaying(playing) {
  const toggle = $("play-toggle");
  toggle.textContent = playing ? "Pause" : "Play";
  toggle.setAttribute("aria-pressed", playing ? "false" : "true");
}

$("play-toggle").addEventListener("click", () => {
  if (video) {
    if (video.paused) video.play();
    else video.pause();
    setPlaying(!video.paused);
  } else if (player) {
    if (player.playing) player.pause();
    else player.play();
    setPlaying(player.playing);
  }
});

function setUpVideo(element) {
  if (reducedMotion.matches) {
    element.removeAttribute("autoplay");
    element.pause();
  }
  element.addEventListener("play", () => setPlaying(true));
  element.addEventListener("pause", () => setPlaying(false));
  setPlaying(!element.paused || element.autoplay);
}

// --- frames from the ZIP ----------------------------------------------------------------------

function unzipAsync(bytes) {
  return new Promise((resolve, reject) => {
    const wanted = (file) => /^frame\d{6}\.png$/.test(file.name) || file.name === "timing.json";
    unzip(bytes, { filter: wanted }, (error, files) => (error ? reject(error) : resolve(files)));
  });
}

async function playFromZip() {
  const canvas = $("tape-frames");
  if (!canvas || !state.media.zip) return;
  article.dataset.zipPlayback = "loading";
  try {
    const response = await fetch(state.media.zip);
    if (!response.ok) throw new Error(`the recording answered ${response.status}`);
    const files = await unzipAsync(new Uint8Array(await response.arrayBuffer()));
    const timing = JSON.parse(new TextDecoder().decode(files["timing.json"]));
    const frames = timing
      .filter((entry) => files[entry.filename])
      .map((entry) => ({
        blob: new Blob([files[entry.filename]], { type: "image/png" }),
        duration: Number(entry.duration) || 16.7,
      }));
    if (!frames.length) throw new Error("no frames");
    if (video && !video.hidden) return; // the MP4 arrived first
    player = new FramePlayer(canvas);
    player.load(frames);
    // "playing" means a picture is on screen: the first frame is decoded and drawn before the
    // page says so, whether or not it then moves.
    const shown = await player.showFirst();
    if ((video && !video.hidden) || !player) return; // the MP4 took over meanwhile
    if (!shown) throw new Error("the first frame could not be decoded");
    if (reducedMotion.matches) {
      setPlaying(false);
    } else {
      player.play();
      setPlaying(true);
    }
    article.dataset.zipPlayback = "playing";
    article.dataset.zipFrames = String(frames.length);
  } catch (error) {
    article.dataset.zipPlayback = "failed";
    article.dataset.zipError = String(error && error.message ? error.message : error);
    console.error("playing the recording:", error);
    $("status-note").textContent = "The recording cannot be played here yet.";
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
      $("screen").append(canvas);
    }
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
  element.autoplay = !reducedMotion.matches;
  element.setAttribute("aria-label", `The tape !${state.code}`);
  if (media.thumbnail) element.poster = media.thumbnail;
  element.addEventListener(
    "loadeddata",
    () => {
      // Swap only once the video can show a frame, so the picture never blanks.
      const canvas = $("tape-frames");
      if (canvas) canvas.replaceWith(element);
      element.hidden = false;
      if (player) player.destroy();
      player = null;
      if (!reducedMotion.matches) element.play().catch(() => {});
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
  article.dataset.state = tape.status;
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

if ($("retry-encode")) $("retry-encode").addEventListener("click", retryEncode);

if (video) {
  watchForFailure(video);
  setUpVideo(video);
} else {
  setPlaying(false);
  playFromZip();
  if (state.status !== "ready" && state.status !== "failed") poll();
  else if (state.status === "ready") render({ ...state, failure: null });
}
