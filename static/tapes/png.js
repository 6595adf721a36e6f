// A small PNG encoder for recorded frames (used in the packing worker, pack-worker.js).
//
// The canvas' own PNG (convertToBlob) is always 8-bit RGBA at a middling compression level. A
// drawing has few colours, so a palette PNG (colour type 3, one byte a pixel) deflated properly is
// several times smaller; frames with more than 256 colours fall back to 8-bit RGB with the
// per-row filter that packs best. The canvas is opaque, so alpha is dropped.
import { zlibSync } from "../vendor/fflate/fflate.js";

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n += 1) {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes) {
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i += 1) crc = CRC_TABLE[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i += 1) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

function header(width, height, colourType) {
  const data = new Uint8Array(13);
  const view = new DataView(data.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  data[8] = 8; // bit depth
  data[9] = colourType;
  return data; // compression, filter and interlace methods: 0
}

/** Palette and indices, or null when the picture has more than 256 colours. */
function indexed(rgba, width, height) {
  const colours = new Map();
  const palette = [];
  const rows = new Uint8Array((width + 1) * height); // each row: filter byte 0, then indices
  let last = -1;
  let lastIndex = 0;
  for (let y = 0; y < height; y += 1) {
    let at = y * (width + 1) + 1;
    let p = y * width * 4;
    for (let x = 0; x < width; x += 1, p += 4, at += 1) {
      const key = (rgba[p] << 16) | (rgba[p + 1] << 8) | rgba[p + 2];
      if (key !== last) {
        let index = colours.get(key);
        if (index === undefined) {
          if (palette.length === 256) return null;
          index = palette.length;
          colours.set(key, index);
          palette.push(key);
        }
        last = key;
        lastIndex = index;
      }
      rows[at] = lastIndex;
    }
  }
  const plte = new Uint8Array(palette.length * 3);
  palette.forEach((key, i) => {
    plte[i * 3] = key >> 16;
    plte[i * 3 + 1] = (key >> 8) & 0xff;
    plte[i * 3 + 2] = key & 0xff;
  });
  return { plte, rows };
}

/** 8-bit RGB rows, each with the filter (None, Sub or Up) whose bytes sum smallest. */
function truecolour(rgba, width, height) {
  const stride = width * 3;
  const rows = new Uint8Array((stride + 1) * height);
  const raw = new Uint8Array(stride);
  const above = new Uint8Array(stride);
  const candidates = [new Uint8Array(stride), new Uint8Array(stride), new Uint8Array(stride)];
  for (let y = 0; y < height; y += 1) {
    for (let x = 0, p = y * width * 4; x < width; x += 1, p += 4) {
      raw[x * 3] = rgba[p];
      raw[x * 3 + 1] = rgba[p + 1];
      raw[x * 3 + 2] = rgba[p + 2];
    }
    const [none, sub, up] = candidates;
    none.set(raw);
    for (let i = 0; i < stride; i += 1) {
      sub[i] = (raw[i] - (i >= 3 ? raw[i - 3] : 0)) & 0xff;
      up[i] = (raw[i] - above[i]) & 0xff;
    }
    let best = 0;
    let bestCost = Infinity;
    candidates.forEach((row, filter) => {
      let cost = 0;
      for (let i = 0; i < stride; i += 1) cost += row[i] < 128 ? row[i] : 256 - row[i];
      if (cost < bestCost) {
        bestCost = cost;
        best = filter;
      }
    });
    const at = y * (stride + 1);
    rows[at] = best; // 0 None, 1 Sub, 2 Up
    rows.set(candidates[best], at + 1);
    above.set(raw);
  }
  return rows;
}

/** PNG bytes of an opaque RGBA picture (ImageData.data). */
export function encodePng(rgba, width, height, level = 6) {
  const parts = [Uint8Array.from(SIGNATURE)];
  const palette = indexed(rgba, width, height);
  if (palette) {
    parts.push(chunk("IHDR", header(width, height, 3)));
    parts.push(chunk("PLTE", palette.plte));
    parts.push(chunk("IDAT", zlibSync(palette.rows, { level })));
  } else {
    parts.push(chunk("IHDR", header(width, height, 2)));
    parts.push(chunk("IDAT", zlibSync(truecolour(rgba, width, height), { level })));
  }
  parts.push(chunk("IEND", new Uint8Array(0)));
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
