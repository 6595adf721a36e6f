// The recorder's packing worker: turns each captured frame into a PNG as it arrives (png.js: a
// palette PNG for a drawing, far smaller than the canvas' own RGBA PNG) and streams it straight
// into the tape ZIP (docs/tape-format.md), so the page never holds raw pixels for more than a
// moment and Stop only has to add timing.json and metadata.json.
//
// A take in which no frame differs from the blank paper is marked `blank` (nothing to post).
//
// Messages in:  {type: "start", width, height, paper}       (paper: the blank canvas' [r, g, b])
//               {type: "frame", index, bitmap}            (an ImageBitmap, transferred)
//               {type: "stop", times, end, metadata}      (times: ms of each frame from the start)
//               {type: "discard"}
// Messages out: {type: "encoded", count}
//               {type: "done", zip, frames, durations, metadata, blank}
//               {type: "error", message}
import { Zip, ZipDeflate, ZipPassThrough, strToU8 } from "../vendor/fflate/fflate.js";
import { encodePng } from "../tapes/png.js";

const FLUSH_BYTES = 1 << 20;

let take = null;

function frameName(index) {
  return `frame${String(index).padStart(6, "0")}.png`;
}

// The paper's colour as one 32-bit pixel, in the platform's byte order (as Uint32Array reads).
function packPixel([r, g, b]) {
  return new Uint32Array(new Uint8ClampedArray([r, g, b, 255]).buffer)[0];
}

function isBlank(pixels, paper) {
  const words = new Uint32Array(pixels.buffer, pixels.byteOffset, pixels.length >> 2);
  for (let i = 0; i < words.length; i += 1) if (words[i] !== paper) return false;
  return true;
}

class Take {
  constructor(width, height, paper) {
    this.width = width;
    this.height = height;
    this.paper = packPixel(paper);
    this.inked = false; // once a frame differs from the paper, no later frame is checked
    this.canvas = new OffscreenCanvas(width, height);
    this.ctx = this.canvas.getContext("2d", { alpha: false, willReadFrequently: true });
    this.frames = []; // PNG Blobs, for the preview
    this.waiting = new Map(); // index -> bitmap that arrived ahead of its turn
    this.next = 0;
    this.busy = false;
    this.parts = []; // the ZIP so far, as Blobs
    this.chunks = [];
    this.chunkBytes = 0;
    this.failed = null;
    this.finished = new Promise((resolve, reject) => {
      this.resolveZip = resolve;
      this.rejectZip = reject;
    });
    this.zip = new Zip((err, chunk, final) => {
      if (err) {
        this.failed = err;
        this.rejectZip(err);
        return;
      }
      this.chunks.push(chunk);
      this.chunkBytes += chunk.length;
      if (this.chunkBytes >= FLUSH_BYTES || final) this.flush();
      if (final) this.resolveZip(new Blob(this.parts, { type: "application/zip" }));
    });
    this.idle = Promise.resolve();
  }

  // Small chunks become one Blob per MiB: the browser may keep Blobs out of the JS heap.
  flush() {
    if (this.chunks.length) this.parts.push(new Blob(this.chunks));
    this.chunks = [];
    this.chunkBytes = 0;
  }

  add(index, bitmap) {
    this.waiting.set(index, bitmap);
    if (!this.busy) this.idle = this.drain();
  }

  async drain() {
    this.busy = true;
    try {
      while (this.waiting.has(this.next)) {
        const bitmap = this.waiting.get(this.next);
        this.waiting.delete(this.next);
        this.ctx.drawImage(bitmap, 0, 0);
        bitmap.close();
        const pixels = this.ctx.getImageData(0, 0, this.width, this.height).data;
        if (!this.inked && !isBlank(pixels, this.paper)) this.inked = true;
        const png = encodePng(pixels, this.width, this.height);
        const entry = new ZipPassThrough(frameName(this.next));
        this.zip.add(entry);
        entry.push(png, true);
        this.frames.push(new Blob([png], { type: "image/png" }));
        this.next += 1;
        postMessage({ type: "encoded", count: this.next });
        // Let other messages (more frames, Stop) in between frames.
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
    } finally {
      this.busy = false;
    }
  }

  async waitFor(count) {
    while (this.next < count) {
      if (!this.busy && !this.waiting.has(this.next)) {
        throw new Error(`frame ${this.next} never arrived`);
      }
      await this.idle;
    }
  }

  addJson(name, value) {
    const entry = new ZipDeflate(name, { level: 6 });
    this.zip.add(entry);
    entry.push(strToU8(JSON.stringify(value)), true);
  }

  async finish(times, end, metadata) {
    await this.waitFor(times.length);
    // Durations from whole microseconds, so they add up exactly to the take's length.
    const micros = times.map((t) => Math.round(t * 1000));
    const endMicros = Math.round(end * 1000);
    const durations = micros.map((t, i) =>
      i + 1 < micros.length ? micros[i + 1] - t : Math.max(endMicros - t, 1000),
    );
    const timing = durations.map((us, i) => ({
      filename: frameName(i),
      duration: us / 1000,
      timestamp: micros[i] / 1000,
    }));
    const totalMs = durations.reduce((a, b) => a + b, 0) / 1000;
    const meta = {
      ...metadata,
      frames: times.length,
      duration: totalMs,
      fps: Math.round((times.length / totalMs) * 1000),
      resolution: {
        width: this.width,
        height: this.height,
        originalWidth: this.width,
        originalHeight: this.height,
        scale: 1,
      },
    };
    this.addJson("timing.json", timing);
    this.addJson("metadata.json", meta);
    this.zip.end();
    const zip = await this.finished;
    return {
      zip,
      frames: this.frames,
      durations: durations.map((us) => us / 1000),
      metadata: meta,
      blank: !this.inked,
    };
  }

  discard() {
    for (const bitmap of this.waiting.values()) bitmap.close();
    this.waiting.clear();
    this.zip.terminate();
  }
}

onmessage = async (event) => {
  const message = event.data;
  try {
    if (message.type === "start") {
      if (take) take.discard();
      take = new Take(message.width, message.height, message.paper);
    } else if (message.type === "frame") {
      if (take) take.add(message.index, message.bitmap);
      else message.bitmap.close();
    } else if (message.type === "stop") {
      const result = await take.finish(message.times, message.end, message.metadata);
      take = null;
      postMessage({ type: "done", ...result });
    } else if (message.type === "discard") {
      if (take) take.discard();
      take = null;
    }
  } catch (error) {
    postMessage({ type: "error", message: String(error && error.message ? error.message : error) });
  }
};
