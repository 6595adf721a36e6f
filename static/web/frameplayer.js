// Plays a tape's frames (PNG Blobs with their durations) on a canvas with their own timing, the
// way a <video> plays an MP4: play, pause, seek, a playback rate and an optional loop, and the
// same events ("play", "pause", "seeked", "ended", "ratechange", "timeupdate"), so the player's
// controls (player.js) drive either alike. Only a few frames around the playhead are decoded at a
// time, so a full-length tape plays in bounded memory.

const AHEAD = 8;

export class FramePlayer extends EventTarget {
  constructor(canvas) {
    super();
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d", { alpha: false });
    this.frames = [];
    this.starts = [];
    this.total = 0;
    this.decoded = new Map(); // index -> ImageBitmap or a pending Promise
    this.playing = false;
    this.position = 0; // ms into the tape
    this.shown = -1;
    this.raf = 0;
    this.lastTick = 0;
    this.rate = 1;
    this.loop = true;
    this.seeking = 0; // a counter: only the latest seek draws
  }

  /** frames: [{blob, duration}] in order. */
  load(frames) {
    this.stop();
    this.release();
    this.frames = frames;
    this.starts = [];
    let at = 0;
    for (const frame of frames) {
      this.starts.push(at);
      at += frame.duration;
    }
    this.total = at;
    this.position = 0;
    this.shown = -1;
  }

  get duration() {
    return this.total;
  }

  /** Each frame's duration (ms), in order: what the controls step by. */
  get durations() {
    return this.frames.map((frame) => frame.duration);
  }

  frameAt(ms) {
    // The last frame whose start is <= ms (binary search).
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= ms) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  decode(index) {
    if (this.decoded.has(index)) return;
    const pending = createImageBitmap(this.frames[index].blob).then(
      (bitmap) => {
        if (this.decoded.get(index) === pending) this.decoded.set(index, bitmap);
        else bitmap.close();
      },
      () => this.decoded.delete(index),
    );
    this.decoded.set(index, pending);
  }

  keepNear(index) {
    const count = this.frames.length;
    const wanted = new Set();
    for (let i = -1; i <= AHEAD; i += 1) wanted.add((index + i + count) % count);
    for (const i of wanted) this.decode(i);
    for (const [i, value] of this.decoded) {
      if (!wanted.has(i)) {
        if (value instanceof ImageBitmap) value.close();
        this.decoded.delete(i);
      }
    }
  }

  draw(index) {
    const bitmap = this.decoded.get(index);
    if (!(bitmap instanceof ImageBitmap)) return false;
    if (this.canvas.width !== bitmap.width || this.canvas.height !== bitmap.height) {
      this.canvas.width = bitmap.width;
      this.canvas.height = bitmap.height;
      this.emit("resize");
    }
    this.ctx.drawImage(bitmap, 0, 0);
    this.shown = index;
    return true;
  }

  emit(type) {
    this.dispatchEvent(new Event(type));
  }

  tick(now) {
    if (!this.playing) return;
    const elapsed = this.lastTick ? (now - this.lastTick) * this.rate : 0;
    this.lastTick = now;
    const index = this.frameAt(this.position);
    this.keepNear(index);
    // When a frame is not decoded yet the playhead waits for it instead of skipping ahead.
    if (index === this.shown || this.draw(index)) {
      let next = this.position + elapsed;
      if (next >= this.total) {
        if (!this.loop) {
          // Like a video: the end holds its last frame, paused, at the full duration.
          this.position = this.total;
          this.pause();
          this.emit("ended");
          return;
        }
        next %= this.total || 1;
      }
      this.position = next;
      this.emit("timeupdate");
    }
    this.raf = requestAnimationFrame((t) => this.tick(t));
  }

  get paused() {
    return !this.playing;
  }

  play() {
    if (this.playing || !this.frames.length) return;
    if (this.position >= this.total) this.position = 0; // played to the end: from the top
    this.playing = true;
    this.lastTick = 0;
    this.raf = requestAnimationFrame((t) => this.tick(t));
    this.emit("play");
  }

  pause() {
    cancelAnimationFrame(this.raf);
    if (!this.playing) return;
    this.playing = false;
    this.emit("pause");
  }

  stop() {
    this.pause();
    this.position = 0;
  }

  setRate(rate) {
    this.rate = rate;
    this.emit("ratechange");
  }

  /** Go to ms into the tape and show the frame there (once decoded); resolves true when it is
   * on the canvas, false if another seek came first or it could not be decoded. */
  async seek(ms) {
    if (!this.frames.length) return false;
    this.position = Math.min(Math.max(ms, 0), this.total);
    this.lastTick = 0;
    const index = this.frameAt(this.position);
    const seek = ++this.seeking;
    this.emit("timeupdate");
    this.keepNear(index);
    await this.decoded.get(index);
    if (seek !== this.seeking) return false;
    // While playing, the next tick draws it (and may already be past it).
    const shown = this.playing || this.draw(index);
    this.emit("seeked");
    return shown;
  }

  /** Show the first frame (for a paused start, e.g. with reduced motion). Resolves true once
   * it is on the canvas; a decode that fails (a busy or memory-starved browser) is tried again
   * a few times before giving up with false. */
  async showFirst(tries = 3) {
    if (!this.frames.length) return false;
    for (let attempt = 0; attempt < tries; attempt += 1) {
      this.keepNear(0);
      await this.decoded.get(0);
      if (this.draw(0)) return true;
      this.decoded.delete(0);
    }
    return false;
  }

  release() {
    for (const value of this.decoded.values()) {
      if (value instanceof ImageBitmap) value.close();
    }
    this.decoded.clear();
  }

  destroy() {
    this.stop();
    this.release();
    this.frames = [];
  }
}
