// Runs the browser's tape checker (static/tapes/check.js) under Node for the parity tests:
// stdin is a JSON list of {path, limits}; stdout a JSON list of {code, message} for a refusal
// or {tape} (the checker's result without the frame names) for a tape it accepts.
//
// Node has no PNG decoder, and the checker decodes the first and last frames; this small one
// reads what the synthetic tapes hold (8 and 16-bit, not interlaced, any colour type at 8 bits
// and up) and refuses anything else, which the checker reports as validation_corrupt.
import { readFileSync } from "node:fs";
import { inflateSync } from "node:zlib";

const here = new URL(".", import.meta.url);
const { checkTape } = await import(new URL("../../static/tapes/check.js", here));

const CHANNELS = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

function decodePng(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 8;
  let header = null;
  const idat = [];
  for (;;) {
    if (at + 8 > bytes.length) throw new Error("truncated PNG");
    const length = view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    const data = bytes.subarray(at + 8, at + 8 + length);
    if (data.length !== length) throw new Error("truncated chunk");
    if (type === "IHDR") {
      header = {
        width: view.getUint32(at + 8),
        height: view.getUint32(at + 12),
        depth: bytes[at + 16],
        colour: bytes[at + 17],
        interlace: bytes[at + 20],
      };
    } else if (type === "IDAT") {
      idat.push(data);
    } else if (type === "IEND") {
      break;
    }
    at += 12 + length;
  }
  if (!header || header.interlace || header.depth < 8) throw new Error("unsupported PNG");
  const { width, height, depth, colour } = header;
  const channels = CHANNELS[colour];
  const bpp = (channels * depth) / 8;
  const stride = width * bpp;
  const raw = inflateSync(Buffer.concat(idat));
  if (raw.length < height * (stride + 1)) throw new Error("short image data");
  const out = new Uint8Array(height * stride);
  for (let y = 0; y < height; y += 1) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const row = y * stride;
    for (let x = 0; x < stride; x += 1) {
      const a = x >= bpp ? out[row + x - bpp] : 0;
      const b = y ? out[row - stride + x] : 0;
      const c = x >= bpp && y ? out[row - stride + x - bpp] : 0;
      let add = 0;
      if (filter === 1) add = a;
      else if (filter === 2) add = b;
      else if (filter === 3) add = (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        add = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else if (filter !== 0) throw new Error(`bad filter ${filter}`);
      out[row + x] = (line[x] + add) & 0xff;
    }
  }
  // 16-bit samples: compare whole samples, as the server does (two bytes per sample).
  return { width, height, channels: channels * (depth / 8), data: out };
}

const cases = JSON.parse(readFileSync(0, "utf8"));
const results = [];
for (const { path, limits } of cases) {
  try {
    const { frames, ...tape } = await checkTape(new Uint8Array(readFileSync(path)), limits, {
      decode: async (bytes) => decodePng(bytes),
    });
    results.push({ tape: { ...tape, frameCount: frames.length } });
  } catch (error) {
    if (!error.code) throw error;
    results.push({ code: error.code, message: error.message });
  }
}
process.stdout.write(JSON.stringify(results));
