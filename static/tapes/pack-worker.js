// The packing worker of tapes.js: turns each captured frame into a PNG as it arrives (png.js: a
// palette PNG when the frame has at most 256 colours, else 8-bit RGB) and streams it straight into
// the tape ZIP (docs/tape-format.md). Raw pixels live here only until their frame is encoded, so
// memory holds a few frames whatever the take's length; Stop only adds timing.json and
// metadata.json.
//
// Encoding is the expensive part (a 1024 x 1024 truecolour frame takes ~100 ms), so on a machine
// with cores to spare it runs in a pool of encoder workers (png-worker.js), frames written to the
// ZIP in order as their PNGs come back; with two cores or fewer, here, one frame at a time.
//
// A frame arrives either as an ImageBitmap (2D canvases: drawn onto an opaque canvas, which
// composites any transparency over black as the format says) or as the raw RGBA of
// gl.readPixels (WebGL: bottom-up rows, flipped here; a non-premultiplied buffer is composited
// over black with the format's own rounding, a premultiplied one already is).
//
// Messages in:  {type: "start", width, height, blank: [r, g, b] | null, preview: bool,
//                encoders: number | null (encoder workers; null: the cores to spare)}
//               {type: "frame", index, bitmap}                        (ImageBitmap, transferred)
//               {type: "frame", index, pixels, flip, premultiplied}   (ArrayBuffer, transferred)
//               {type: "stop", timing: [{duration, timestamp}], metadata}
//               {type: "discard"}
// Messages out: {type: "encoded", count}
//               {type: "done", zip, bytes, pngs: [Blob] | null, blank}
//               {type: "error", message}
import { Zip, ZipDeflate, ZipPassThrough, strToU8 } from "../vendor/fflate/fflate.js";
import { encodePng } from "./png.js";

const FLUSH_BYTES = 1 << 20;
// Encoders beside this worker: the cores left once the page and this worker have one each.
const CORES = (globalThis.navigator && navigator.hardwareConcurrency) || 2;
const DEFAULT_ENCODERS = Math.max(0, Math.min(4, CORES - 2));

// A worker cannot be constructed from another origin's URL: when this worker was itself loaded
// from another origin (a page importing tapes.js cross-origin), its encoders start from blob:.
function startEncoder() {
  const url = new URL("./png-worker.js", import.meta.url);
  if (url.origin === globalThis.location.origin) {
    return { worker: new Worker(url, { type: "module" }), blob: null };
  }
  const source = `import ${JSON.stringify(url.href)};\n`;
  const blob = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  return { worker: new Worker(blob, { type: "module" }), blob };
}

// Encoding here, one frame at a time, for machines without cores to spare: the same shape as a
// pool worker, each frame encoded in its own task so more frames and Stop get in between.
class InlineEncoder {
  constructor(width, height, done) {
    this.width = width;
    this.height = height;
    this.done = done;
    this.busy = false;
  }

  encode(index, pixels) {
    this.busy = true;
    setTimeout(() => {
      let png = null;
      let error = null;
      try {
        png = encodePng(pixels, this.width, this.height);
      } catch (failure) {
        error = failure;
      }
      this.busy = false;
      this.done(index, png, error);
    }, 0);
  }

  close() {}
}

class PoolEncoder {
  constructor(width, height, done) {
    this.width = width;
    this.height = height;
    this.busy = false;
    const { worker, blob } = startEncoder();
    this.worker = worker;
    this.blob = blob;
    worker.onmessage = (event) => {
      const { index, png, error } = event.data;
      this.busy = false;
      done(index, png ? new Uint8Array(png) : null, error ? new Error(error) : null);
    };
    worker.onerror = (event) => {
      event.preventDefault();
      this.busy = false;
      done(this.index, null, new Error(event.message || "a PNG encoder could not start"));
    };
  }

  encode(index, pixels) {
    this.busy = true;
    this.index = index;
    const { buffer } = pixels;
    this.worker.postMessage({ index, pixels: buffer, width: this.width, height: this.height }, [
      buffer,
    ]);
  }

  close() {
    this.worker.terminate();
    if (this.blob) URL.revokeObjectURL(this.blob);
  }
}

let take = null;

function frameName(index) {
  return `frame${String(index).padStart(6, "0")}.png`;
}

// A colour as one 32-bit opaque pixel, in the platform's byte order (as Uint32Array reads).
function packPixel([r, g, b]) {
  return new Uint32Array(new Uint8ClampedArray([r, g, b, 255]).buffer)[0];
}

function isAll(pixels, word) {
  const words = new Uint32Array(pixels.buffer, pixels.byteOffset, pixels.length >> 2);
  for (let i = 0; i < words.length; i += 1) if (words[i] !== word) return false;
  return true;
}

// readPixels' rows run bottom-up; its alpha is either premultiplied already or not at all.
function glPixels(buffer, width, height, premultiplied) {
  const source = new Uint8Array(buffer);
  const stride = width * 4;
  const out = new Uint8ClampedArray(source.length);
  for (let y = 0; y < height; y += 1) {
    out.set(source.subarray((height - 1 - y) * stride, (height - y) * stride), y * stride);
  }
  for (let p = 0; p < out.length; p += 4) {
    const a = out[p + 3];
    if (a === 255) continue;
    if (!premultiplied) {
      out[p] = Math.floor((out[p] * a + 127) / 255);
      out[p + 1] = Math.floor((out[p + 1] * a + 127) / 255);
      out[p + 2] = Math.floor((out[p + 2] * a + 127) / 255);
    }
    out[p + 3] = 255;
  }
  return out;
}

class Take {
  constructor({ width, height, blank, preview, encoders }) {
    this.width = width;
    this.height = height;
    this.blankWord = blank ? packPixel(blank) : null;
    this.inked = false; // once a frame differs from the blank colour, no later frame is checked
    this.canvas = null; // made on the first bitmap
    this.ctx = null;
    this.pngs = preview ? [] : null;
    this.waiting = new Map(); // index -> frame not handed to an encoder yet
    this.dispatched = 0; // frames handed to an encoder
    this.encodedPngs = new Map(); // index -> PNG back ahead of its turn
    this.next = 0; // frames written to the ZIP
    this.failure = null;
    this.written = null; // {count, resolve, reject} while finish() waits
    const done = (index, png, error) => this.encoded(index, png, error);
    const pool = encoders ?? DEFAULT_ENCODERS;
    this.encoders =
      pool > 0
        ? Array.from({ length: pool }, () => new PoolEncoder(width, height, done))
        : [new InlineEncoder(width, height, done)];
    this.parts = []; // the ZIP so far, as Blobs
    this.bytes = 0;
    this.chunks = [];
    this.chunkBytes = 0;
    this.finished = new Promise((resolve, reject) => {
      this.resolveZip = resolve;
      this.rejectZip = reject;
    });
    this.zip = new Zip((err, chunk, final) => {
      if (err) {
        this.rejectZip(err);
        return;
      }
      this.chunks.push(chunk);
      this.chunkBytes += chunk.length;
      this.bytes += chunk.length;
      if (this.chunkBytes >= FLUSH_BYTES || final) this.flush();
      if (final) this.resolveZip(new Blob(this.parts, { type: "application/zip" }));
    });
  }

  // Small chunks become one Blob per MiB: the browser may keep Blobs out of the JS heap.
  flush() {
    if (this.chunks.length) this.parts.push(new Blob(this.chunks));
    this.chunks = [];
    this.chunkBytes = 0;
  }

  add(index, frame) {
    this.waiting.set(index, frame);
    this.pump();
  }

  // Hand the next frames, in order, to idle encoders.
  pump() {
    while (!this.failure && this.waiting.has(this.dispatched)) {
      const encoder = this.encoders.find((candidate) => !candidate.busy);
      if (!encoder) return;
      const index = this.dispatched;
      const frame = this.waiting.get(index);
      this.waiting.delete(index);
      this.dispatched += 1;
      let pixels;
      try {
        pixels = this.pixelsOf(frame);
      } catch (error) {
        this.fail(error);
        return;
      }
      if (this.blankWord !== null && !this.inked && !isAll(pixels, this.blankWord)) {
        this.inked = true;
      }
      encoder.encode(index, pixels);
    }
  }

  encoded(index, png, error) {
    if (error) {
      this.fail(error);
      return;
    }
    this.encodedPngs.set(index, png);
    while (this.encodedPngs.has(this.next)) {
      const bytes = this.encodedPngs.get(this.next);
      this.encodedPngs.delete(this.next);
      const entry = new ZipPassThrough(frameName(this.next));
      this.zip.add(entry);
      entry.push(bytes, true);
      if (this.pngs) this.pngs.push(new Blob([bytes], { type: "image/png" }));
      this.next += 1;
      postMessage({ type: "encoded", count: this.next });
    }
    if (this.written && this.next >= this.written.count) this.written.resolve();
    this.pump();
  }

  fail(error) {
    this.failure ??= error;
    if (this.written) this.written.reject(this.failure);
    postMessage({ type: "error", message: String(error && error.message ? error.message : error) });
  }

  pixelsOf(frame) {
    if (frame.bitmap) {
      if (!this.canvas) {
        this.canvas = new OffscreenCanvas(this.width, this.height);
        this.ctx = this.canvas.getContext("2d", { alpha: false, willReadFrequently: true });
      }
      // Opaque black first: what a transparent pixel composites over (docs/tape-format.md).
      this.ctx.fillStyle = "#000";
      this.ctx.fillRect(0, 0, this.width, this.height);
      this.ctx.drawImage(frame.bitmap, 0, 0);
      frame.bitmap.close();
      return this.ctx.getImageData(0, 0, this.width, this.height).data;
    }
    return glPixels(frame.pixels, this.width, this.height, frame.premultiplied);
  }

  // Every frame up to `count` in the ZIP (all were sent before Stop, so all have arrived).
  waitFor(count) {
    if (this.failure) return Promise.reject(this.failure);
    for (let index = this.dispatched; index < count; index += 1) {
      if (!this.waiting.has(index)) return Promise.reject(new Error(`frame ${index} never arrived`));
    }
    if (this.next >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.written = { count, resolve, reject };
    });
  }

  addJson(name, value) {
    const entry = new ZipDeflate(name, { level: 6 });
    this.zip.add(entry);
    entry.push(strToU8(JSON.stringify(value)), true);
  }

  async finish(timing, metadata) {
    await this.waitFor(timing.length);
    this.addJson(
      "timing.json",
      timing.map((entry, i) => ({ filename: frameName(i), ...entry })),
    );
    this.addJson("metadata.json", metadata);
    this.zip.end();
    const zip = await this.finished;
    this.close();
    return {
      zip,
      bytes: zip.size,
      pngs: this.pngs,
      blank: this.blankWord !== null && !this.inked,
    };
  }

  close() {
    for (const encoder of this.encoders) encoder.close();
  }

  discard() {
    for (const frame of this.waiting.values()) if (frame.bitmap) frame.bitmap.close();
    this.waiting.clear();
    this.close();
    this.zip.terminate();
  }
}

onmessage = async (event) => {
  const message = event.data;
  try {
    if (message.type === "start") {
      if (take) take.discard();
      take = new Take(message);
    } else if (message.type === "frame") {
      if (take) take.add(message.index, message);
      else if (message.bitmap) message.bitmap.close();
    } else if (message.type === "stop") {
      const result = await take.finish(message.timing, message.metadata);
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
