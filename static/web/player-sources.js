// What the tape's player (player.js) drives, and the maths it needs: a <video> or a FramePlayer
// behind one interface (times in ms; kind, element, durations, duration, time, paused, ready,
// size, rate, loop, play, pause, seek, setRate, setLoop, subscribe), frame times, and the
// pixel-exact size of the picture.

const FALLBACK_FRAME_MS = 1000 / 60;
const VIDEO_EVENTS = [
  "play",
  "pause",
  "seeked",
  "ended",
  "ratechange",
  "loadedmetadata",
  "durationchange",
  "resize",
  "timeupdate",
];
const FRAME_EVENTS = ["play", "pause", "seeked", "ended", "ratechange", "resize", "loopchange"];

// --- sources: what the controls drive ----------------------------------------------------------

/** An MP4 in a <video>; frameMs: each frame's duration (the MP4's own frame times). */
export function videoSource(video, frameMs = []) {
  let guessed = [];
  return {
    kind: "video",
    element: video,
    get durations() {
      if (frameMs.length) return frameMs;
      // Unknown frame times (should not happen): steps of a 60 fps frame over the video.
      const total = this.duration;
      const count = Math.max(1, Math.round(total / FALLBACK_FRAME_MS));
      if (guessed.length !== count || guessed[0] !== total / count) {
        guessed = Array.from({ length: count }, () => total / count);
      }
      return guessed;
    },
    get duration() {
      const media = video.duration;
      if (Number.isFinite(media) && media > 0) return media * 1000;
      return frameMs.reduce((sum, ms) => sum + ms, 0);
    },
    get time() {
      return video.currentTime * 1000;
    },
    get paused() {
      return video.paused;
    },
    get ready() {
      return video.readyState >= HTMLMediaElement.HAVE_METADATA;
    },
    get size() {
      return { width: video.videoWidth, height: video.videoHeight };
    },
    get rate() {
      return video.playbackRate;
    },
    get loop() {
      return video.loop;
    },
    play() {
      const playing = video.play();
      if (playing) playing.catch(() => {}); // refused (autoplay rules): it stays paused, and says so
    },
    pause: () => video.pause(),
    seek(ms) {
      const target = ms / 1000;
      video.currentTime = target;
      // Chromium now and then paints nothing after a paused seek near the end of a short video
      // (a frame held back by the decoder): when none is presented soon after, seek once more.
      if (!video.paused || !("requestVideoFrameCallback" in video)) return;
      let shown = false;
      const request = video.requestVideoFrameCallback(() => {
        shown = true;
      });
      const check = () => {
        setTimeout(() => {
          if (shown || !video.paused || Math.abs(video.currentTime - target) > 0.001) return;
          video.cancelVideoFrameCallback(request);
          video.currentTime = target;
        }, 300);
      };
      video.addEventListener("seeked", check, { once: true });
    },
    setRate(rate) {
      video.defaultPlaybackRate = rate;
      video.playbackRate = rate;
    },
    setLoop(loop) {
      video.loop = loop;
      video.dispatchEvent(new Event("loopchange"));
    },
    subscribe(listener) {
      for (const type of [...VIDEO_EVENTS, "loopchange"]) video.addEventListener(type, listener);
      return () => {
        for (const type of [...VIDEO_EVENTS, "loopchange"])
          video.removeEventListener(type, listener);
      };
    },
  };
}

/** The recording's frames, played by a FramePlayer on its canvas. */
export function framesSource(player) {
  return {
    kind: "frames",
    element: player.canvas,
    get durations() {
      return player.durations;
    },
    get duration() {
      return player.duration;
    },
    get time() {
      return player.position;
    },
    get paused() {
      return player.paused;
    },
    get ready() {
      return player.shown >= 0;
    },
    get size() {
      return { width: player.canvas.width, height: player.canvas.height };
    },
    get rate() {
      return player.rate;
    },
    get loop() {
      return player.loop;
    },
    play: () => player.play(),
    pause: () => player.pause(),
    seek: (ms) => {
      player.seek(ms);
    },
    setRate: (rate) => player.setRate(rate),
    setLoop(loop) {
      player.loop = loop;
      player.emit("loopchange");
    },
    subscribe(listener) {
      for (const type of FRAME_EVENTS) player.addEventListener(type, listener);
      return () => {
        for (const type of FRAME_EVENTS) player.removeEventListener(type, listener);
      };
    },
  };
}

// --- frame maths --------------------------------------------------------------------------------

export function frameStarts(durations) {
  const starts = [];
  let at = 0;
  for (const ms of durations) {
    starts.push(at);
    at += ms;
  }
  return starts;
}

/** The frame showing at ms: the last whose start is <= ms. */
export function frameIndexAt(starts, ms) {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= ms) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Integer-ms frame durations from a recording's (fractional) ones, rounded cumulatively as the
 * encoder times the MP4's frames (tapes/timing.py). */
export function roundedDurations(durations) {
  const out = [];
  let exact = 0;
  let previous = 0;
  for (const ms of durations) {
    exact += ms;
    const end = Math.max(Math.floor(exact + 0.5), previous + 1);
    out.push(end - previous);
    previous = end;
  }
  return out;
}

export function formatTime(ms) {
  const tenths = Math.max(0, Math.floor(ms / 100));
  const minutes = Math.floor(tenths / 600);
  const seconds = Math.floor((tenths % 600) / 10);
  return `${minutes}:${String(seconds).padStart(2, "0")}.${tenths % 10}`;
}

// --- pixel-exact size ---------------------------------------------------------------------------

/** The CSS size showing art (the drawing's own pixels) at the largest whole number of device
 * pixels per pixel that fits width x height (CSS px); smaller than one device pixel per pixel
 * cannot be exact, and then it just fits. */
export function pixelFit(art, width, height, dpr = window.devicePixelRatio || 1) {
  const scale = Math.floor(Math.min((width * dpr) / art.width, (height * dpr) / art.height));
  if (scale >= 1) {
    return { width: (art.width * scale) / dpr, height: (art.height * scale) / dpr, scale };
  }
  const shrink = Math.min(width / art.width, height / art.height);
  return { width: art.width * shrink, height: art.height * shrink, scale: 0 };
}
