// The take of the recorder library (tapes.js): frames captured from the canvas (capture.js) in
// realtime (realtime.js) or one per take.frame(ms), handed to the packing worker
// (pack-worker.js) that streams them into the tape ZIP, then posted (post.js).
import { isWebGL, readDrawingBuffer, sizeOf } from "./capture.js";
import { TapesError } from "./errors.js";
import { takeOptions, validDuration, validStall } from "./limits.js";
import { Poster, pageOrigin } from "./post.js";
import { scheduleTake, unscheduleTake } from "./realtime.js";
import { framesTiming, realtimeTiming, slugTime, tapeMetadata, tidy } from "./timing.js";

// The worker and the default site are found from where this file came from (the library's
// origin, not the page's).
const HERE = import.meta.url;
// Realtime's last frame ends a hair before the limit, so the durations never add up past it.
const REALTIME_END_MARGIN_MS = 2;
// Frames captured but not packed yet, as raw pixels: beyond this, realtime skips a capture and
// frames mode's promise waits. At most 90 frames, at least 3, ~32 MiB of pixels.
const IN_FLIGHT_BYTES = 32 << 20;
const IN_FLIGHT_MIN = 3;
const IN_FLIGHT_MAX = 90;

// A Worker cannot be constructed from another origin's URL; when this library was imported
// cross-origin, the worker starts from a blob: URL of this page that imports the real one.
function startWorker() {
  const url = new URL("./pack-worker.js", HERE);
  if (url.origin === pageOrigin()) return { worker: new Worker(url, { type: "module" }), blob: null };
  const source = `import ${JSON.stringify(url.href)};\n`;
  const blob = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  return { worker: new Worker(blob, { type: "module" }), blob };
}

/** A take: recording, then packed, then posted (docs/recorder.md, "Tapes.record"). */
export class Take extends EventTarget {
  constructor(canvas, context, options) {
    super();
    this.canvas = canvas;
    this.context = context;
    this.gl = isWebGL(context);
    const [width, height] = sizeOf(canvas, context);
    this.width = width;
    this.height = height;
    const o = takeOptions(options, HERE);
    this.mode = o.mode;
    this.maxMs = o.maxMs;
    this.maxFrames = o.maxFrames;
    this.minGap = o.minGap;
    this.piece = o.piece;
    this.site = o.site;
    this.encoders = o.encoders;
    this.pieceUrl = o.pieceUrl;
    this.source = o.source;
    this.seed = o.seed;
    this.stallMs = o.stallMs;
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
      blank: o.blank,
      preview: o.preview,
      encoders: this.encoders,
    });
    if (this.mode === "realtime") scheduleTake(this);
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
    const valid = validDuration(durationMs);
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
    return this.mode === "frames" ? framesTiming(this.durations) : realtimeTiming(this.times, end);
  }

  /** Stop recording and pack: resolves to {zip, bytes, frames, durationMs, metadata, blank}. */
  stop() {
    if (this.result) return this.result;
    if (this.state === "discarded") return Promise.reject(new TapesError("take_discarded"));
    if (this.mode === "realtime" && this.endMs === undefined) {
      const since = this.t0 === null ? 0 : performance.now() - this.t0;
      this.endMs = Math.min(since, this.maxMs - REALTIME_END_MARGIN_MS);
    }
    unscheduleTake(this);
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
      const { metadata, total } = tapeMetadata({
        piece: this.piece,
        timing,
        width: this.width,
        height: this.height,
        created: this.created,
      });
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
   * failure (or a cancel) resumes. `stallSeconds` overrides record()'s for this post.
   */
  async post({ site, piece, pieceUrl, source, seed, token, stallSeconds } = {}) {
    if (this.posted) return this.posted;
    if (stallSeconds !== undefined && !validStall(stallSeconds)) {
      throw new TapesError("option_invalid", `The option stallSeconds is not valid: ${stallSeconds}.`, {
        details: { option: "stallSeconds" },
      });
    }
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
        stallMs: stallSeconds === undefined ? this.stallMs : stallSeconds * 1000,
        onProgress: (step, fraction) => {
          this.dispatchEvent(new CustomEvent("progress", { detail: { step, fraction } }));
        },
      });
      this.posted = answer;
      this._setState("posted");
      return answer;
    } catch (error) {
      if (this.state === "discarded") throw error;
      // Cancelled: nothing went wrong, the take is simply ready to post again.
      const cancelled = error && error.code === "post_cancelled";
      this.error = cancelled ? null : error;
      this._setState(cancelled ? "recorded" : "failed");
      throw error;
    }
  }

  /**
   * Cancel the post under way: post() rejects with `post_cancelled` and the take is `recorded`
   * again, kept whole (posting it again resumes). True if a post was under way.
   */
  cancel() {
    if (this.state !== "posting") return false;
    return this.poster.cancel();
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
    unscheduleTake(this);
    this.poster.cancel();
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
