// tapes.js: record any canvas as a Tapesite tape, and post it. Documented in docs/recorder.md.
//
//   import * as Tapes from "https://TAPESITE/static/tapes/tapes.js";
//   const take = Tapes.record(canvas, { piece: "orbits" });
//   ...
//   const result = await take.stop();   // { zip, bytes, frames, durationMs, metadata, blank }
//   const posted = await take.post();   // the API's answer + { url, claimUrl }
//
// Frames are captured at the canvas' own size and handed to a packing worker (pack-worker.js)
// that streams PNGs into the tape ZIP as they come, so raw pixels exist for a few frames at a
// time. Vanilla ES modules, no build step; nothing is imported from outside static/tapes/ and
// static/vendor/.
import { TapesError, describe } from "./errors.js";
import { Poster, pageOrigin } from "./post.js";

export { TapesError, describe };

/** The library's version (semver; see docs/recorder.md for what it promises). */
export const VERSION = "1.0.0";

/** What a tape may be (docs/tape-format.md); the library stops or refuses before them. */
export const LIMITS = Object.freeze({
  maxSeconds: 60,
  maxFrames: 3600,
  maxWidth: 1024,
  maxHeight: 1024,
  minFrameMs: 0.001,
  maxFrameMs: 10000,
});

const HERE = import.meta.url;
// A 120 Hz screen still records at 60 frames a second: a frame is due this long after the last.
const GAP_SLACK_MS = 1.5;
// Realtime's last frame ends a hair before the limit, so the durations never add up past it.
const REALTIME_END_MARGIN_MS = 2;
// Frames captured but not packed yet, as raw pixels: beyond this, realtime skips a capture and
// frames mode's promise waits. At most 90 frames, at least 3, ~32 MiB of pixels.
const IN_FLIGHT_BYTES = 32 << 20;
const IN_FLIGHT_MIN = 3;
const IN_FLIGHT_MAX = 90;

const PIECE_RE = /^[a-z0-9-]{1,32}$/;
const COLOUR_RE = /^#[0-9a-fA-F]{6}$/;

// --- the packing worker ------------------------------------------------------------------------

// A Worker cannot be constructed from another origin's URL; when this library was imported
// cross-origin, the worker starts from a blob: URL of this page that imports the real one.
function startWorker() {
  const url = new URL("./pack-worker.js", HERE);
  if (url.origin === pageOrigin()) return { worker: new Worker(url, { type: "module" }), blob: null };
  const source = `import ${JSON.stringify(url.href)};\n`;
  const blob = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  return { worker: new Worker(blob, { type: "module" }), blob };
}

// --- reading a canvas --------------------------------------------------------------------------

function isCanvas(canvas) {
  const html = typeof HTMLCanvasElement !== "undefined" && canvas instanceof HTMLCanvasElement;
  const off = typeof OffscreenCanvas !== "undefined" && canvas instanceof OffscreenCanvas;
  return html || off;
}

// The canvas' existing context. "2d" is asked first: it returns null (and creates nothing) when
// the canvas already has a WebGL context; a canvas with no context yet gets a 2D one.
function contextOf(canvas) {
  for (const type of ["2d", "webgl2", "webgl"]) {
    let context = null;
    try {
      context = canvas.getContext(type);
    } catch (error) {
      throw new TapesError("canvas_unreadable", undefined, {
        details: { reason: String(error && error.message ? error.message : error) },
      });
    }
    if (context) return context;
  }
  throw new TapesError("canvas_unreadable");
}

function isWebGL(context) {
  return typeof context.readPixels === "function";
}

function isWebGL2(context) {
  return typeof WebGL2RenderingContext !== "undefined" && context instanceof WebGL2RenderingContext;
}

// The WebGL drawing buffer as it is now (the default framebuffer, whatever the page has bound):
// RGBA rows bottom-up. Read synchronously, so it is the frame the page just drew even when
// preserveDrawingBuffer is false (the buffer is cleared only once it is presented).
function readDrawingBuffer(gl, width, height) {
  const gl2 = isWebGL2(gl);
  const target = gl2 ? gl.READ_FRAMEBUFFER : gl.FRAMEBUFFER;
  const bound = gl.getParameter(gl2 ? gl.READ_FRAMEBUFFER_BINDING : gl.FRAMEBUFFER_BINDING);
  if (bound) gl.bindFramebuffer(target, null);
  const saved = [];
  let packBuffer = null;
  if (gl2) {
    packBuffer = gl.getParameter(gl.PIXEL_PACK_BUFFER_BINDING);
    if (packBuffer) gl.bindBuffer(gl.PIXEL_PACK_BUFFER, null);
    for (const name of [gl.PACK_ROW_LENGTH, gl.PACK_SKIP_PIXELS, gl.PACK_SKIP_ROWS]) {
      const value = gl.getParameter(name);
      if (value) {
        saved.push([name, value]);
        gl.pixelStorei(name, 0);
      }
    }
  }
  const pixels = new Uint8Array(width * height * 4); // RGBA rows: any PACK_ALIGNMENT fits
  try {
    gl.readPixels(0, 0, width, height, gl.RGBA, gl.UNSIGNED_BYTE, pixels);
  } finally {
    for (const [name, value] of saved) gl.pixelStorei(name, value);
    if (packBuffer) gl.bindBuffer(gl.PIXEL_PACK_BUFFER, packBuffer);
    if (bound) gl.bindFramebuffer(target, bound);
  }
  return pixels;
}

function sizeOf(canvas, context) {
  if (isWebGL(context)) return [context.drawingBufferWidth, context.drawingBufferHeight];
  return [canvas.width, canvas.height];
}

function rgbOf(hex) {
  return [1, 3, 5].map((at) => parseInt(hex.slice(at, at + 2), 16));
}

// --- realtime: one capture per animation frame, after the page's own callbacks -----------------

// While any realtime take records, requestAnimationFrame is wrapped so that the library's own
// callback stays the last of each animation frame: it runs after the page has drawn and before
// the frame is presented (when a WebGL buffer without preserveDrawingBuffer is cleared).
const scheduler = {
  takes: new Set(),
  base: null, // {request, cancel, wrapped} while wrapped
  tickId: null,
  tickTs: -1, // the last frame the library's callback ran in
  pageTs: -1, // the last frame a page callback ran in
};

function schedulerTick(ts) {
  scheduler.tickId = null;
  scheduler.tickTs = ts;
  const drewThisFrame = scheduler.pageTs === ts;
  for (const take of [...scheduler.takes]) take._tick(ts, drewThisFrame);
  if (scheduler.takes.size) scheduler.tickId = scheduler.base.request.call(globalThis, schedulerTick);
  else unwrap();
}

function wrap() {
  if (scheduler.base) return;
  const g = globalThis;
  if (typeof g.requestAnimationFrame !== "function") {
    // No animation frames here (an old worker): a timer at 60 Hz stands in.
    const request = (callback) => setTimeout(() => callback(performance.now()), 1000 / 60);
    scheduler.base = { request, cancel: clearTimeout, wrapped: null };
  } else {
    const request = g.requestAnimationFrame;
    const cancel = g.cancelAnimationFrame;
    const wrapped = function requestAnimationFrame(callback) {
      const id = request.call(g, (ts) => {
        scheduler.pageTs = ts;
        callback(ts);
      });
      // A callback requested outside an animation frame runs in the next one: move the
      // library's after it. Inside a frame (before the library's callback of that frame ran),
      // it belongs to the frame after, which the library's callback will request later still.
      const insideFrame = scheduler.pageTs > scheduler.tickTs;
      if (scheduler.tickId !== null && !insideFrame && scheduler.base) {
        scheduler.base.cancel.call(g, scheduler.tickId);
        scheduler.tickId = scheduler.base.request.call(g, schedulerTick);
      }
      return id;
    };
    scheduler.base = { request, cancel, wrapped };
    g.requestAnimationFrame = wrapped;
  }
  scheduler.tickId = scheduler.base.request.call(globalThis, schedulerTick);
}

function unwrap() {
  const base = scheduler.base;
  if (!base) return;
  if (scheduler.tickId !== null) base.cancel.call(globalThis, scheduler.tickId);
  scheduler.tickId = null;
  // Put the page's own function back, unless someone wrapped it again on top of ours (then ours
  // stays in their chain, passing straight through).
  if (base.wrapped && globalThis.requestAnimationFrame === base.wrapped) {
    globalThis.requestAnimationFrame = base.request;
  }
  scheduler.base = null;
}

// --- the take ----------------------------------------------------------------------------------

function option(name, value, valid) {
  if (!valid(value)) {
    throw new TapesError("option_invalid", `The option ${name} is not valid: ${String(value)}.`, {
      details: { option: name },
    });
  }
  return value;
}

function slugTime(date) {
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  return (
    `${date.getUTCFullYear()}.${pad(date.getUTCMonth() + 1)}.${pad(date.getUTCDate())}.` +
    `${pad(date.getUTCHours())}.${pad(date.getUTCMinutes())}.${pad(date.getUTCSeconds())}.` +
    pad(date.getUTCMilliseconds(), 3)
  );
}

// Sums of fractional milliseconds, without float noise (33.3 + 16.7 is 50, not 50.00000000001).
function tidy(ms) {
  return Number(ms.toFixed(6));
}

class Take extends EventTarget {
  constructor(canvas, context, options) {
    super();
    const o = options || {};
    this.canvas = canvas;
    this.context = context;
    this.gl = isWebGL(context);
    const [width, height] = sizeOf(canvas, context);
    this.width = width;
    this.height = height;
    this.mode = option("mode", o.mode ?? "realtime", (v) => v === "realtime" || v === "frames");
    const maxSeconds = option(
      "maxSeconds",
      o.maxSeconds ?? LIMITS.maxSeconds,
      (v) => typeof v === "number" && v > 0 && v <= LIMITS.maxSeconds,
    );
    this.maxFrames = option(
      "maxFrames",
      o.maxFrames ?? LIMITS.maxFrames,
      (v) => Number.isInteger(v) && v > 0 && v <= LIMITS.maxFrames,
    );
    const maxFps = option("maxFps", o.maxFps ?? 60, (v) => typeof v === "number" && v > 0 && v <= 60);
    this.piece = option("piece", o.piece ?? "piece", (v) => typeof v === "string" && PIECE_RE.test(v));
    const blank = option(
      "blankColour",
      o.blankColour ?? null,
      (v) => v === null || (typeof v === "string" && COLOUR_RE.test(v)),
    );
    this.site = option("site", o.site ?? new URL(HERE).origin, (v) => {
      try {
        return typeof v === "string" && /^https?:$/.test(new URL(v).protocol);
      } catch {
        return false;
      }
    }).replace(/\/+$/, "");
    this.encoders = option(
      "encoders",
      o.encoders ?? null,
      (v) => v === null || (Number.isInteger(v) && v >= 0 && v <= 4),
    );
    this.pieceUrl = o.pieceUrl === undefined ? (globalThis.location ? globalThis.location.href : null) : o.pieceUrl;
    this.source = o.source ?? null;
    this.seed = o.seed ?? null;
    this.maxMs = maxSeconds * 1000;
    this.minGap = 1000 / maxFps - GAP_SLACK_MS;
    this.inFlightMax = Math.max(
      IN_FLIGHT_MIN,
      Math.min(IN_FLIGHT_MAX, Math.floor(IN_FLIGHT_BYTES / (width * height * 4))),
    );
    this.premultiplied = true;
    this.preserved = false;
    if (this.gl) {
      const attributes = context.getContextAttributes() || {};
      this.premultiplied = !attributes.alpha || attributes.premultipliedAlpha !== false;
      this.preserved = Boolean(attributes.preserveDrawingBuffer);
    }

    this.state = "recording";
    this.created = new Date();
    this.count = 0; // frames captured
    this.encoded = 0; // frames packed by the worker
    this.times = []; // realtime: ms of each frame from the start
    this.durations = []; // frames mode: each frame's ms, as given
    this.sum = 0; // frames mode: their sum
    this.total = 0; // ... without float noise
    this.t0 = null;
    this.lastCapture = 0;
    this.pending = new Set(); // bitmaps on their way to the worker
    this.waiters = []; // frames mode: promises waiting for room
    this.captureError = null;
    this.workerError = null; // the packing worker failed (reported before Stop waited for it)
    this.result = null; // the stop() promise
    this.recorded = null; // what it resolved to
    this.error = null;
    this.poster = new Poster();
    this.posted = null;

    let started;
    try {
      started = startWorker();
    } catch (error) {
      // A Content-Security-Policy without blob: workers (cross-origin), or no Worker at all.
      throw new TapesError(
        "pack_failed",
        `The packing worker could not start: ${error && error.message ? error.message : error}`,
        { step: "pack" },
      );
    }
    const { worker, blob } = started;
    this.worker = worker;
    this.workerBlob = blob;
    this.workerWaiter = null;
    worker.onmessage = (event) => this._message(event.data);
    worker.onerror = (event) => {
      event.preventDefault();
      this._workerFailed(event.message || "the packing worker could not start");
    };
    worker.postMessage({
      type: "start",
      width,
      height,
      blank: blank ? rgbOf(blank) : null,
      preview: Boolean(o.preview),
      encoders: this.encoders,
    });
    if (this.mode === "realtime") {
      scheduler.takes.add(this);
      wrap();
    }
  }

  _setState(next) {
    if (this.state === next) return;
    this.state = next;
    this.dispatchEvent(new Event("statechange"));
  }

  _message(message) {
    if (message.type === "encoded") {
      this.encoded = message.count;
      this._release();
    } else if (message.type === "done" && this.workerWaiter) {
      this.workerWaiter.resolve(message);
      this.workerWaiter = null;
    } else if (message.type === "error") {
      this._workerFailed(message.message);
    }
  }

  _workerFailed(reason) {
    const error = new TapesError("pack_failed", `The take could not be packed: ${reason}`, {
      step: "pack",
    });
    this.workerError ??= error;
    if (this.workerWaiter) {
      this.workerWaiter.reject(error);
      this.workerWaiter = null;
    } else if (this.state === "recording") {
      this.captureError = error;
      this.stop().catch(() => {
        // reported through state and take.error; stop() callers get the same rejection
      });
    }
  }

  // Frames mode's waiting promises, as the worker makes room.
  _release() {
    while (this.waiters.length && this.count - this.encoded < this.inFlightMax) {
      this.waiters.shift()();
    }
  }

  _capture() {
    const index = this.count;
    this.count += 1;
    if (this.gl) {
      const pixels = readDrawingBuffer(this.context, this.width, this.height);
      this.worker.postMessage(
        { type: "frame", index, pixels: pixels.buffer, premultiplied: this.premultiplied },
        [pixels.buffer],
      );
      return;
    }
    // createImageBitmap copies the canvas' pixels now; only handing them over is asynchronous.
    const sent = createImageBitmap(this.canvas).then(
      (bitmap) => {
        if (this.worker) this.worker.postMessage({ type: "frame", index, bitmap }, [bitmap]);
        else bitmap.close();
      },
      (error) => {
        this.captureError ??= new TapesError(
          "canvas_unreadable",
          `Frame ${index} could not be read: ${error && error.message ? error.message : error}`,
        );
      },
    );
    this.pending.add(sent);
    sent.finally(() => this.pending.delete(sent));
  }

  _frameEvent(ms) {
    this.dispatchEvent(new CustomEvent("frame", { detail: { frames: this.count, ms } }));
  }

  _limit() {
    this.stop().catch(() => {
      // the same rejection reaches whoever awaits stop(); state and take.error say it too
    });
    this.dispatchEvent(new Event("limit"));
  }

  /** Realtime: called by the scheduler once per animation frame, after the page's callbacks. */
  _tick(ts, pageDrew) {
    if (this.state !== "recording") return;
    // A WebGL buffer that is not preserved holds the frame only if the page drew in this one.
    if (this.gl && !this.preserved && !pageDrew) return;
    if (this.t0 === null) this.t0 = ts;
    const elapsed = ts - this.t0;
    const limit = this.maxMs - REALTIME_END_MARGIN_MS;
    if (elapsed >= limit || this.count >= this.maxFrames) {
      this.endMs = Math.min(elapsed, limit);
      this._limit();
      return;
    }
    const due = this.count === 0 || ts - this.lastCapture >= this.minGap;
    if (!due || this.count - this.encoded >= this.inFlightMax) return;
    this.times.push(elapsed);
    this.lastCapture = ts;
    this._capture();
    this._frameEvent(elapsed);
  }

  /** Milliseconds recorded so far. */
  get elapsed() {
    if (this.mode === "frames") return this.total;
    if (this.t0 === null) return 0;
    if (this.state !== "recording") return this.endMs ?? 0;
    return Math.min(performance.now() - this.t0, this.maxMs - REALTIME_END_MARGIN_MS);
  }

  /**
   * Frames mode: capture the canvas now as one frame shown for exactly `durationMs`. Resolves
   * once the packer has room for more (await it before drawing the next frame).
   */
  frame(durationMs) {
    if (this.mode !== "frames") return Promise.reject(new TapesError("not_frames_mode"));
    if (this.state !== "recording") return Promise.reject(new TapesError("not_recording"));
    const valid =
      typeof durationMs === "number" &&
      Number.isFinite(durationMs) &&
      durationMs >= LIMITS.minFrameMs &&
      durationMs <= LIMITS.maxFrameMs;
    if (!valid) {
      return Promise.reject(
        new TapesError("frame_duration_invalid", undefined, { details: { duration: durationMs } }),
      );
    }
    // The frame that reaches the take's length is cut to end exactly at it, and is the last.
    const remaining = tidy(this.maxMs - this.total);
    const last = durationMs >= remaining || this.count + 1 >= this.maxFrames;
    const duration = Math.min(durationMs, remaining);
    try {
      this._capture();
    } catch (error) {
      this.count -= 1;
      return Promise.reject(
        error instanceof TapesError
          ? error
          : new TapesError("canvas_unreadable", String(error && error.message ? error.message : error)),
      );
    }
    this.durations.push(duration);
    this.sum += duration;
    this.total = tidy(this.sum);
    this._frameEvent(this.total);
    if (last) {
      this._limit();
      return Promise.resolve();
    }
    if (this.count - this.encoded < this.inFlightMax) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  _timing(end) {
    if (this.mode === "frames") {
      let at = 0;
      return this.durations.map((duration) => {
        const entry = { duration, timestamp: tidy(at) };
        at += duration;
        return entry;
      });
    }
    // Durations from whole microseconds, so they add up exactly to the take's length. A frame
    // is shown at most maxFrameMs (a tab hidden for longer has no animation frames at all): the
    // take is then that much shorter than the wall clock, rather than not a valid tape.
    const micros = this.times.map((t) => Math.round(t * 1000));
    const endMicros = Math.round(end * 1000);
    const longest = LIMITS.maxFrameMs * 1000;
    let at = 0;
    return micros.map((t, i) => {
      const next = i + 1 < micros.length ? micros[i + 1] - t : Math.max(endMicros - t, 1000);
      const entry = { duration: Math.min(next, longest) / 1000, timestamp: at / 1000 };
      at += Math.min(next, longest);
      return entry;
    });
  }

  /** Stop recording and pack: resolves to {zip, bytes, frames, durationMs, metadata, blank}. */
  stop() {
    if (this.result) return this.result;
    if (this.state === "discarded") return Promise.reject(new TapesError("take_discarded"));
    if (this.mode === "realtime" && this.endMs === undefined) {
      const since = this.t0 === null ? 0 : performance.now() - this.t0;
      this.endMs = Math.min(since, this.maxMs - REALTIME_END_MARGIN_MS);
    }
    scheduler.takes.delete(this);
    // Kept before packing starts: its "packing" statechange is dispatched synchronously, and a
    // listener that calls stop() then must get this same promise, not a second packing.
    let settle;
    this.result = new Promise((resolve, reject) => {
      settle = { resolve, reject };
    });
    this._pack().then(settle.resolve, settle.reject);
    return this.result;
  }

  async _pack() {
    this._setState("packing");
    this._release();
    for (const resolve of this.waiters.splice(0)) resolve();
    try {
      if (this.captureError) throw this.captureError;
      if (this.count === 0) throw new TapesError("take_empty");
      await Promise.all([...this.pending]);
      if (this.captureError) throw this.captureError;
      const timing = this._timing(this.endMs);
      const total = tidy(timing.reduce((sum, entry) => sum + entry.duration, 0));
      const metadata = {
        piece: this.piece,
        frames: timing.length,
        duration: total,
        fps: Math.round((timing.length / total) * 1000),
        resolution: {
          width: this.width,
          height: this.height,
          originalWidth: this.width,
          originalHeight: this.height,
          scale: 1,
        },
        created: this.created.toISOString(),
      };
      if (this.workerError) throw this.workerError;
      const done = new Promise((resolve, reject) => {
        this.workerWaiter = { resolve, reject };
      });
      this.worker.postMessage({ type: "stop", timing, metadata });
      const packed = await done;
      if (this.state === "discarded") throw new TapesError("take_discarded");
      this._endWorker();
      this.recorded = {
        zip: packed.zip,
        bytes: packed.bytes,
        frames: timing.length,
        durationMs: total,
        metadata,
        blank: packed.blank,
        durations: timing.map((entry) => entry.duration),
        pngs: packed.pngs,
      };
      this._setState("recorded");
      return this.recorded;
    } catch (error) {
      this._endWorker();
      if (this.state === "discarded") throw new TapesError("take_discarded");
      this.error =
        error instanceof TapesError
          ? error
          : new TapesError("pack_failed", String(error && error.message ? error.message : error), {
              step: "pack",
            });
      this._setState("failed");
      throw this.error;
    }
  }

  _endWorker() {
    if (this.worker) this.worker.terminate();
    this.worker = null;
    if (this.workerBlob) URL.revokeObjectURL(this.workerBlob);
    this.workerBlob = null;
  }

  /**
   * Post the take to Tapesite. Resolves to the API's answer plus `url` (the tape's page) and, for
   * a guest, `claimUrl`; rejects with a TapesError carrying `step`. Calling it again after a
   * failure resumes.
   */
  async post({ site, piece, pieceUrl, source, seed, token } = {}) {
    if (this.posted) return this.posted;
    if (this.state === "discarded") throw new TapesError("take_discarded");
    const failedPost = this.state === "failed" && this.recorded;
    if (this.state !== "recorded" && !failedPost) throw new TapesError("not_recorded");
    if (this.recorded.blank) throw new TapesError("take_blank");
    const target = (site ?? this.site).replace(/\/+$/, "");
    const provenance = {};
    const url = pieceUrl === undefined ? this.pieceUrl : pieceUrl;
    if (url) provenance.piece_url = url;
    if ((source ?? this.source) != null) provenance.source = String(source ?? this.source);
    if ((seed ?? this.seed) != null) provenance.seed = String(seed ?? this.seed);
    this.error = null;
    this._setState("posting");
    try {
      const answer = await this.poster.post({
        site: target,
        zip: this.recorded.zip,
        piece: piece ?? this.piece,
        metadata: this.recorded.metadata,
        provenance: Object.keys(provenance).length ? provenance : null,
        token: token ?? null,
        onProgress: (step, fraction) => {
          this.dispatchEvent(new CustomEvent("progress", { detail: { step, fraction } }));
        },
      });
      this.posted = answer;
      this._setState("posted");
      return answer;
    } catch (error) {
      this.error = error;
      if (this.state !== "discarded") this._setState("failed");
      throw error;
    }
  }

  /** A file name for the ZIP: the piece and the time the take was started. */
  get filename() {
    if (this.posted && this.posted.slug) return `${this.posted.slug}.zip`;
    return `${this.piece}-${slugTime(this.created)}.zip`;
  }

  /** Save the ZIP through the browser's download. */
  download(filename) {
    if (!this.recorded) throw new TapesError("not_recorded");
    if (typeof document === "undefined") {
      throw new TapesError("not_recorded", "download() needs a page; use the zip from stop().");
    }
    const url = URL.createObjectURL(this.recorded.zip);
    const link = document.createElement("a");
    link.href = url;
    link.download = filename || this.filename;
    link.hidden = true;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    return link.download;
  }

  /** Stop and forget everything: no more frames, the ZIP let go. */
  discard() {
    scheduler.takes.delete(this);
    if (this.workerWaiter) {
      this.workerWaiter.reject(new TapesError("take_discarded"));
      this.workerWaiter = null;
    }
    if (this.worker) this.worker.postMessage({ type: "discard" });
    this._endWorker();
    for (const resolve of this.waiters.splice(0)) resolve();
    this.recorded = null;
    this._setState("discarded");
  }
}

/**
 * Start recording `canvas` (an HTMLCanvasElement or OffscreenCanvas with a 2d, webgl or webgl2
 * context). Throws a TapesError at once for a canvas that cannot be recorded.
 */
export function record(canvas, options = {}) {
  if (!canvas || !isCanvas(canvas)) throw new TapesError("canvas_invalid");
  const context = contextOf(canvas);
  const [width, height] = sizeOf(canvas, context);
  if (!width || !height) throw new TapesError("canvas_empty", undefined, { details: { width, height } });
  if (width > LIMITS.maxWidth || height > LIMITS.maxHeight) {
    throw new TapesError("canvas_too_large", undefined, {
      details: { width, height, max_width: LIMITS.maxWidth, max_height: LIMITS.maxHeight },
    });
  }
  if (!isWebGL(context)) {
    // A canvas showing another site's images cannot be read: ask a 1-pixel copy (so the
    // page's own canvas is not read back, which Chrome counts against it).
    try {
      const probe = new OffscreenCanvas(1, 1).getContext("2d");
      probe.drawImage(canvas, 0, 0, 1, 1, 0, 0, 1, 1);
      probe.getImageData(0, 0, 1, 1);
    } catch (error) {
      if (error && error.name === "SecurityError") throw new TapesError("canvas_tainted");
      throw new TapesError("canvas_unreadable");
    }
  }
  return new Take(canvas, context, options);
}
