// The packing worker of tapes.js: turns each captured frame into a PNG as it arrives (png.js: a
// palette PNG when the frame has at most 256 colours, else 8-bit RGB) and streams it straight into
// the tape ZIP (docs/tape-format.md). Raw pixels live here only until their frame is encoded, so
// memory holds a few frames whatever the take's length; Stop only adds timing.json and
// metadata.json.
//
// A frame arrives either as an ImageBitmap (2D canvases: drawn onto an opaque canvas, which
// composites any transparency over black as the format says) or as the raw RGBA of
// gl.readPixels (WebGL: bottom-up rows, flipped here; a non-premultiplied buffer is composited
// over black with the format's own rounding, a premultiplied one already is).
//
// Messages in:  {type: "start", width, height, blank: [r, g, b] | null, preview: bool}
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
  constructor({ width, height, blank, preview }) {
    this.width = width;
    this.height = height;
    this.blankWord = blank ? packPixel(blank) : null;
    this.inked = false; // once a frame differs from the blank colour, no later frame is checked
    this.canvas = null; // made on the first bitmap
    this.ctx = null;
    this.pngs = preview ? [] : null;
    this.waiting = new Map(); // index -> frame that arrived ahead of its turn
    this.next = 0;
    this.busy = false;
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
    this.idle = Promise.resolve();
  }

  // Small chunks become one Blob per MiB: the browser may keep Blobs out of the JS heap.
  flush() {
    if (this.chunks.length) this.parts.push(new Blob(this.chunks));
    this.chunks = [];
    this.chunkBytes = 0;
  }

  add(index, frame) {
    this.waiting.set(index, frame);
    if (!this.busy) this.idle = this.drain();
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

  async drain() {
    this.busy = true;
    try {
      while (this.waiting.has(this.next)) {
        const frame = this.waiting.get(this.next);
        this.waiting.delete(this.next);
        const pixels = this.pixelsOf(frame);
        if (this.blankWord !== null && !this.inked && !isAll(pixels, this.blankWord)) {
          this.inked = true;
        }
        const png = encodePng(pixels, this.width, this.height);
        const entry = new ZipPassThrough(frameName(this.next));
        this.zip.add(entry);
        entry.push(png, true);
        if (this.pngs) this.pngs.push(new Blob([png], { type: "image/png" }));
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

  async finish(timing, metadata) {
    await this.waitFor(timing.length);
    this.addJson(
      "timing.json",
      timing.map((entry, i) => ({ filename: frameName(i), ...entry })),
    );
    this.addJson("metadata.json", metadata);
    this.zip.end();
    const zip = await this.finished;
    return {
      zip,
      bytes: zip.size,
      pngs: this.pngs,
      blank: this.blankWord !== null && !this.inked,
    };
  }

  discard() {
    for (const frame of this.waiting.values()) if (frame.bitmap) frame.bitmap.close();
    this.waiting.clear();
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
