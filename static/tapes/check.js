// The tape ZIP checked in the browser with the server's rules (docs/tape-format.md; the Python
// reader is tapes/archive/): the same checks in the same order, the same validation_* codes, the
// same limits. A page can refuse a file with a clear reason before it uploads a byte, and what
// it accepts the server accepts.
//
//   (import checkTape, TapeCheckError and DEFAULT_LIMITS from this module, /static/tapes/check.js)
//   const tape = await checkTape(bytes, limits);   // Uint8Array; limits as ArchiveLimits' fields
//   -> {frames: [name], durations: [ms], width, height (stored), scale, baseWidth, baseHeight
//       (1x), bytes, discrepancies: [{field, metadata, actual}], piece, fps, created,
//       metadata (as read), metadataShape: "canonical" | "legacy", ignored: [name]}
//   throws TapeCheckError {code, message, details}
//
// Limits use the Python names (max_frames, ...); missing ones take the server's defaults.
// Pixels: only the first and last frames are decoded (to verify the scale), by `decode`
// (options.decode(bytes, name) -> Promise<{width, height, channels, data}>); the default uses
// the browser's own PNG decoder. Node has none: give it one, as the tests do.
import { DEFLATED, STORED, ZipFormatError, crc32, findEnd, readDirectory, readEntry, readPrefix } from "./zipreader.js";

const MiB = 1024 * 1024;

export const DEFAULT_LIMITS = Object.freeze({
  max_archive_bytes: 100 * MiB,
  max_uncompressed_bytes: 2 * 1024 ** 3,
  max_entry_ratio: 200,
  ratio_check_min_bytes: MiB,
  max_entries: 20000,
  max_frames: 3600,
  max_duration_ms: 60000,
  min_frame_duration_ms: 0.001,
  max_frame_duration_ms: 10000,
  max_width: 4096,
  max_height: 4096,
  max_base_width: 1024,
  max_base_height: 1024,
  max_json_bytes: 4 * MiB,
});

export const TIMING_NAME = "timing.json";
export const METADATA_NAME = "metadata.json";
const FRAME_NAME = /^frame([0-9]{6})\.png$/;
const CD_BYTES_PER_ENTRY = 46 + 1024;
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
export const PNG_HEAD_BYTES = 33;
const VALID_DEPTHS = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };
const CHANNELS = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const LEGACY_KEYS = ["originalSize", "scaledSize", "frameCount", "totalDuration", "exportedAt"];

export class TapeCheckError extends Error {
  constructor(code, message, details = {}) {
    super(message);
    this.name = "TapeCheckError";
    this.code = code;
    this.details = details;
  }
}

const clip = (text, limit = 200) =>
  text.length <= limit ? text : `${text.slice(0, limit - 3)}...`;

function fail(code, message, details = {}) {
  return new TapeCheckError(code, clip(message, 500), details);
}

const repr = (value) => JSON.stringify(clip(String(value), 80));

// --- the archive --------------------------------------------------------------------------------

function startsLikeZip(bytes) {
  if (bytes.length < 4 || bytes[0] !== 0x50 || bytes[1] !== 0x4b) return false;
  return (bytes[2] === 3 && bytes[3] === 4) || (bytes[2] === 5 && bytes[3] === 6);
}

function checkDirectory(bytes, limits) {
  const end = findEnd(bytes);
  if (!end) {
    if (startsLikeZip(bytes)) throw fail("validation_corrupt", "The ZIP archive is truncated (no end record).");
    throw fail("validation_not_zip", "The file is not a ZIP archive.");
  }
  if (end.count > limits.max_entries || end.size > limits.max_entries * CD_BYTES_PER_ENTRY) {
    throw fail("validation_too_many_entries", `The archive has more than ${limits.max_entries} entries.`, {
      entries: end.count,
      limit: limits.max_entries,
    });
  }
  try {
    return readDirectory(bytes, end);
  } catch (error) {
    if (!(error instanceof ZipFormatError)) throw error;
    const code = startsLikeZip(bytes) ? "validation_corrupt" : "validation_not_zip";
    throw fail(code, `The ZIP archive could not be opened: ${error.message}.`);
  }
}

function isUnsafeName(name) {
  if (name.includes("\\") || name.startsWith("/") || /^[A-Za-z]:/.test(name)) return true;
  for (const ch of name) if (ch.charCodeAt(0) < 32) return true;
  return name.split("/").some((part) => part === "..");
}

const isLink = (entry) => ((entry.externalAttr >>> 16) & 0o170000) === 0o120000;

function checkEntry(entry, size, limits) {
  const name = entry.name;
  if (isUnsafeName(entry.origName)) {
    throw fail("validation_unsafe_path", `Unsafe path in archive: ${repr(name)}.`, { entry: name });
  }
  if (isLink(entry)) throw fail("validation_link", `${name} is a symbolic link.`, { entry: name });
  if (entry.flags & 1) throw fail("validation_encrypted", `${name} is encrypted.`, { entry: name });
  if (entry.method !== STORED && entry.method !== DEFLATED) {
    throw fail("validation_corrupt", `${name} uses unsupported compression method ${entry.method}.`, { entry: name });
  }
  const storedMismatch = entry.method === STORED && entry.compressedSize !== entry.size;
  if (storedMismatch || entry.offset + entry.compressedSize > size) {
    throw fail("validation_corrupt", `${name} has inconsistent sizes.`, { entry: name });
  }
  const ratio = entry.size / Math.max(entry.compressedSize, 1);
  if (entry.size > limits.ratio_check_min_bytes && ratio > limits.max_entry_ratio) {
    throw fail("validation_compression_ratio", `${name} expands ${Math.round(ratio)}x (limit ${Math.round(limits.max_entry_ratio)}x).`, {
      entry: name,
      ratio: Math.round(ratio * 10) / 10,
      limit: limits.max_entry_ratio,
    });
  }
}

function scanEntries(entries, size, limits) {
  if (entries.length > limits.max_entries) {
    throw fail("validation_too_many_entries", `The archive has ${entries.length} entries (limit ${limits.max_entries}).`, {
      entries: entries.length,
      limit: limits.max_entries,
    });
  }
  const seen = new Set();
  let total = 0;
  for (const entry of entries) {
    checkEntry(entry, size, limits);
    if (seen.has(entry.name)) {
      throw fail("validation_duplicate_entry", `${entry.name} appears twice in the archive.`, { entry: entry.name });
    }
    seen.add(entry.name);
    total += entry.size;
    if (total > limits.max_uncompressed_bytes) {
      throw fail("validation_uncompressed_too_large", `The archive expands to more than ${limits.max_uncompressed_bytes} bytes.`, {
        limit: limits.max_uncompressed_bytes,
      });
    }
  }
  return classify(entries, limits);
}

function classify(entries, limits) {
  const found = { frames: [], timing: null, metadata: null, ignored: [] };
  const misnamed = [];
  for (const entry of entries) {
    const name = entry.name;
    if (name === TIMING_NAME) found.timing = entry;
    else if (name === METADATA_NAME) found.metadata = entry;
    else if (FRAME_NAME.test(name)) found.frames.push(entry);
    else if (!name.includes("/") && name.toLowerCase().endsWith(".png")) misnamed.push(name);
    else found.ignored.push(name);
  }
  if (misnamed.length) {
    throw fail("validation_frame_names", `Frame files must be named frameNNNNNN.png; found ${repr(misnamed[0])}.`, {
      entries: misnamed.slice(0, 10),
    });
  }
  const frames = found.frames;
  if (!frames.length) throw fail("validation_no_frames", "The archive contains no frameNNNNNN.png files.");
  if (frames.length > limits.max_frames) {
    throw fail("validation_too_many_frames", `The tape has ${frames.length} frames (limit ${limits.max_frames}).`, {
      frames: frames.length,
      limit: limits.max_frames,
    });
  }
  const indices = frames.map((entry) => Number(entry.name.slice(5, 11))).sort((a, b) => a - b);
  const missing = indices.findIndex((index, i) => index !== i);
  if (missing >= 0) {
    const name = `frame${String(missing).padStart(6, "0")}.png`;
    throw fail("validation_frame_names", `Frames must be numbered contiguously from frame000000.png; ${name} is missing.`, {
      missing: name,
    });
  }
  frames.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return found;
}

function read(bytes, entry) {
  try {
    return readEntry(bytes, entry);
  } catch (error) {
    if (!(error instanceof ZipFormatError)) throw error;
    throw fail("validation_corrupt", `${entry.name} could not be read: ${error.message}.`, { entry: entry.name });
  }
}

function prefix(bytes, entry, count) {
  try {
    return readPrefix(bytes, entry, count);
  } catch (error) {
    if (!(error instanceof ZipFormatError)) throw error;
    throw fail("validation_corrupt", `${entry.name} could not be read: ${error.message}.`, { entry: entry.name });
  }
}

// --- timing.json and metadata.json ---------------------------------------------------------------

// Python's json module also reads NaN, Infinity and -Infinity; JSON.parse does not. They are
// swapped for marked strings outside of strings, and the reviver turns them back into numbers,
// so a NaN duration is refused as a bad duration, as on the server, not as bad JSON.
function parsePythonJson(text) {
  const mark = `\u0000nonfinite-${Math.random().toString(36).slice(2)}:`;
  let out = "";
  let last = 0;
  let swapped = false;
  for (let i = 0; i < text.length; i += 1) {
    const ch = text[i];
    if (ch === '"') {
      for (i += 1; i < text.length && text[i] !== '"'; i += 1) if (text[i] === "\\") i += 1;
      continue;
    }
    for (const word of ["-Infinity", "Infinity", "NaN"]) {
      if (text.startsWith(word, i)) {
        out += `${text.slice(last, i)}"\\u0000${mark.slice(1)}${word}"`;
        i += word.length - 1;
        last = i + 1;
        swapped = true;
        break;
      }
    }
  }
  if (!swapped) return JSON.parse(text);
  const numbers = { NaN: NaN, Infinity: Infinity, "-Infinity": -Infinity };
  return JSON.parse(out + text.slice(last), (key, value) =>
    typeof value === "string" && value.startsWith(mark) ? numbers[value.slice(mark.length)] : value,
  );
}

function readJson(bytes, entry, kind, limits) {
  const name = `${kind}.json`;
  if (!entry) throw fail(`validation_${kind}_missing`, `The archive has no ${name}.`);
  const malformed = `validation_${kind}_malformed`;
  if (entry.size > limits.max_json_bytes) {
    throw fail(malformed, `${name} is ${entry.size} bytes (limit ${limits.max_json_bytes}).`, { limit: limits.max_json_bytes });
  }
  const raw = read(bytes, entry);
  try {
    // "utf-8-sig": a leading byte-order mark is dropped (TextDecoder's default).
    return parsePythonJson(new TextDecoder("utf-8", { fatal: true }).decode(raw));
  } catch (error) {
    throw fail(malformed, `${name} is not valid JSON: ${error.message}`, { error: String(error.message) });
  }
}

const isNumber = (value) => typeof value === "number";
const isObject = (value) => typeof value === "object" && value !== null && !Array.isArray(value);
const has = (object, key) => Object.prototype.hasOwnProperty.call(object, key);
const get = (object, key) => (has(object, key) ? object[key] : undefined);

function parseTiming(doc) {
  const bad = (message, index) => fail("validation_timing_malformed", message, { index });
  if (!Array.isArray(doc)) throw bad("timing.json must be a JSON list of {filename, duration} objects.");
  return doc.map((item, index) => {
    if (!isObject(item)) throw bad(`timing.json entry ${index} is not an object.`, index);
    const name = get(item, "filename");
    if (typeof name !== "string") throw bad(`timing.json entry ${index} has no filename string.`, index);
    if (!has(item, "duration")) throw bad(`timing.json entry ${index} has no duration.`, index);
    const stamp = get(item, "timestamp");
    if (stamp !== undefined && stamp !== null && !(isNumber(stamp) && Number.isFinite(stamp))) {
      throw bad(`timing.json entry ${index} has a non-numeric timestamp.`, index);
    }
    return [name, item.duration];
  });
}

function matchTiming(rows, names) {
  if (rows.length !== names.length) {
    throw fail("validation_timing_mismatch", `timing.json lists ${rows.length} frames but the archive has ${names.length}.`, {
      timing_entries: rows.length,
      frame_files: names.length,
    });
  }
  rows.forEach(([listed], index) => {
    if (listed !== names[index]) {
      throw fail("validation_timing_mismatch", `timing.json entry ${index} names ${repr(listed)}, expected ${repr(names[index])}.`, {
        index,
        timing: listed,
        frame: names[index],
      });
    }
  });
}

/** The correctly rounded sum of finite numbers (Python's math.fsum, Shewchuk's algorithm), so a
 * total right at the limit is judged as the server judges it. */
export function fsum(values) {
  const partials = [];
  for (let x of values) {
    let i = 0;
    for (let y of partials) {
      if (Math.abs(x) < Math.abs(y)) [x, y] = [y, x];
      const hi = x + y;
      const lo = y - (hi - x);
      if (lo) partials[i++] = lo;
      x = hi;
    }
    partials.length = i;
    partials.push(x);
  }
  let n = partials.length;
  if (!n) return 0;
  let hi = partials[--n];
  let lo = 0;
  while (n > 0) {
    const x = hi;
    const y = partials[--n];
    hi = x + y;
    lo = y - (hi - x);
    if (lo) break;
  }
  if (n > 0 && ((lo < 0 && partials[n - 1] < 0) || (lo > 0 && partials[n - 1] > 0))) {
    const y = lo * 2;
    const x = hi + y;
    if (y === x - hi) hi = x;
  }
  return hi;
}

function checkDurations(rows, limits) {
  const durations = rows.map(([name, value], index) => {
    const valid = isNumber(value) && Number.isFinite(value);
    if (!valid || !(limits.min_frame_duration_ms <= value && value <= limits.max_frame_duration_ms)) {
      throw fail(
        "validation_duration_invalid",
        `${name} has duration ${clip(String(JSON.stringify(value) ?? value), 40)}; durations must be numbers of ms in [${limits.min_frame_duration_ms}, ${limits.max_frame_duration_ms}].`,
        { index, entry: name, duration: valid ? value : String(value) },
      );
    }
    return value;
  });
  const total = fsum(durations);
  if (total > limits.max_duration_ms) {
    throw fail("validation_too_long", `The tape lasts ${(total / 1000).toFixed(1)} s (limit ${(limits.max_duration_ms / 1000).toFixed(1)} s).`, {
      duration_ms: total,
      limit: limits.max_duration_ms,
    });
  }
  return durations;
}

// Typed getters over a metadata object; a present value of the wrong type is malformed.
class Meta {
  constructor(doc, where = "") {
    this.doc = doc;
    this.where = where;
  }

  bad(key, want) {
    const path = `${this.where}${key}`;
    return fail("validation_metadata_malformed", `metadata.json: ${path} must be ${want}.`, { field: path });
  }

  value(key) {
    const value = get(this.doc, key);
    return value === undefined || value === null ? null : value;
  }

  int(key, minimum = 0) {
    const value = this.value(key);
    if (value === null) return null;
    if (!isNumber(value) || !Number.isFinite(value) || !Number.isInteger(value)) throw this.bad(key, "an integer");
    if (value < minimum) throw this.bad(key, `an integer >= ${minimum}`);
    return value;
  }

  number(key) {
    const value = this.value(key);
    if (value === null) return null;
    if (!isNumber(value) || !Number.isFinite(value) || value < 0) throw this.bad(key, "a non-negative number");
    return value;
  }

  text(key, maxLength = 256) {
    const value = this.value(key);
    if (value === null) return null;
    // Python counts code points, not UTF-16 units.
    if (typeof value !== "string" || [...value].length > maxLength) {
      throw this.bad(key, `a string of at most ${maxLength} characters`);
    }
    return value;
  }

  obj(key) {
    const value = this.value(key);
    if (value === null) return null;
    if (!isObject(value)) throw this.bad(key, "an object");
    return new Meta(value, `${this.where}${key}.`);
  }

  size(key) {
    const sub = this.obj(key);
    return sub === null ? null : pair(sub.int("width", 1), sub.int("height", 1));
  }
}

const pair = (width, height) => (width === null || height === null ? null : [width, height]);

function deriveScale(stored, base) {
  if (!stored || !base) return null;
  if (stored[0] % base[0] || stored[1] % base[1]) return null;
  const scale = Math.floor(stored[0] / base[0]);
  return scale === Math.floor(stored[1] / base[1]) ? scale : null;
}

/** What metadata.json claims, whichever shape it came in (canonical or legacy). */
export function parseMetadata(doc) {
  if (!isObject(doc)) throw fail("validation_metadata_malformed", "metadata.json must be a JSON object.");
  const meta = new Meta(doc);
  if (!has(doc, "resolution") && LEGACY_KEYS.some((key) => has(doc, key))) {
    const stored = meta.size("scaledSize");
    const base = meta.size("originalSize");
    return {
      shape: "legacy",
      piece: meta.text("piece"),
      frames: meta.int("frameCount"),
      durationMs: meta.number("totalDuration"),
      fps: meta.number("fps"),
      scale: meta.int("scale", 1) || deriveScale(stored, base),
      storedSize: stored,
      baseSize: base,
      created: meta.text("exportedAt", 64),
    };
  }
  const resolution = meta.obj("resolution");
  let stored = null;
  let base = null;
  let scale = meta.int("scale", 1);
  if (resolution !== null) {
    stored = pair(resolution.int("width", 1), resolution.int("height", 1));
    base = pair(resolution.int("originalWidth", 1), resolution.int("originalHeight", 1));
    scale = resolution.int("scale", 1) || scale;
  }
  return {
    shape: "canonical",
    piece: meta.text("piece"),
    frames: meta.int("frames"),
    durationMs: meta.number("duration"),
    fps: meta.number("fps"),
    scale: scale || deriveScale(stored, base),
    storedSize: stored,
    baseSize: base,
    created: meta.text("created", 64),
  };
}

// --- frames ---------------------------------------------------------------------------------------

/** The PNG header of a frame ({width, height, bitDepth, colourType}); refuses a non-PNG and a
 * damaged header as the server does. */
export function parsePngHeader(head, name) {
  if (head.length < 8 || PNG_SIGNATURE.some((byte, i) => head[i] !== byte)) {
    throw fail("validation_frame_not_png", `${name} is not a PNG image.`, { entry: name });
  }
  if (head.length < PNG_HEAD_BYTES) throw fail("validation_corrupt", `${name} is a truncated PNG.`, { entry: name });
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const type = String.fromCharCode(...head.subarray(12, 16));
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  const [depth, colour, compression, filter, interlace] = head.subarray(24, 29);
  const valid =
    view.getUint32(8) === 13 &&
    type === "IHDR" &&
    view.getUint32(29) === crc32(head, 12, 29) &&
    width > 0 &&
    height > 0 &&
    (VALID_DEPTHS[colour] || []).includes(depth) &&
    compression === 0 &&
    filter === 0 &&
    (interlace === 0 || interlace === 1);
  if (!valid) throw fail("validation_corrupt", `${name} has an invalid PNG header.`, { entry: name });
  return { width, height, bitDepth: depth, colourType: colour };
}

/** The most bytes any PNG of this header's shape can need (raw scanlines stored, interlacing,
 * ancillary chunks): a frame declaring more is a bomb. */
export function maxPngBytes(header) {
  const row = 1 + Math.ceil((header.width * CHANNELS[header.colourType] * header.bitDepth) / 8);
  const raw = header.height * row;
  return raw + Math.floor(raw / 50) + 8 * header.height + MiB;
}

function checkFrameHeaders(bytes, frames, limits) {
  let first = null;
  return frames.map((entry, index) => {
    const header = parsePngHeader(prefix(bytes, entry, PNG_HEAD_BYTES), entry.name);
    if (index === 0 && (header.width > limits.max_width || header.height > limits.max_height)) {
      throw fail("validation_dimensions", `Frames are ${header.width}x${header.height}; the limit is ${limits.max_width}x${limits.max_height}.`, {
        width: header.width,
        height: header.height,
      });
    }
    first = first || header;
    if (header.width !== first.width || header.height !== first.height) {
      throw fail("validation_frame_size_mismatch", `${entry.name} is ${header.width}x${header.height}, frame000000.png is ${first.width}x${first.height}.`, {
        entry: entry.name,
      });
    }
    if (entry.size > maxPngBytes(header)) {
      throw fail("validation_uncompressed_too_large", `${entry.name} declares ${entry.size} bytes, more than any ${header.width}x${header.height} PNG needs.`, {
        entry: entry.name,
      });
    }
    return header;
  });
}

const gcd = (a, b) => (b ? gcd(b, a % b) : a);

/** Whether a decoded image ({width, height, channels, data}) is constant over every
 * factor x factor block. */
export function isBlockConstant(image, factor) {
  if (factor === 1) return true;
  const { width, height, channels, data } = image;
  const row = width * channels;
  for (let y = 0; y < height; y += 1) {
    const top = (y - (y % factor)) * row;
    for (let x = 0; x < width; x += 1) {
      const corner = top + (x - (x % factor)) * channels;
      const at = y * row + x * channels;
      for (let c = 0; c < channels; c += 1) if (data[at + c] !== data[corner + c]) return false;
    }
  }
  return true;
}

/** The verified scale: the largest factor dividing the claimed scale and both sides over whose
 * blocks every image is constant. */
export function verifiedScale(claimed, width, height, images) {
  const common = gcd(gcd(claimed, width), height);
  for (let f = common; f > 1; f -= 1) {
    if (common % f === 0 && images.every((image) => isBlockConstant(image, f))) return f;
  }
  return 1;
}

/** The browser's PNG decoder: RGBA samples, no colour management, alpha not premultiplied. */
export async function browserDecode(bytes) {
  const bitmap = await createImageBitmap(new Blob([bytes], { type: "image/png" }), {
    premultiplyAlpha: "none",
    colorSpaceConversion: "none",
  });
  try {
    const { width, height } = bitmap;
    const canvas = new OffscreenCanvas(width, height);
    const ctx = canvas.getContext("2d", { willReadFrequently: true });
    ctx.drawImage(bitmap, 0, 0);
    return { width, height, channels: 4, data: ctx.getImageData(0, 0, width, height).data };
  } finally {
    bitmap.close();
  }
}

async function verifyScale(bytes, frames, header, claimed, decode) {
  const common = gcd(gcd(claimed, header.width), header.height);
  if (common === 1) return 1;
  const samples = frames.length === 1 ? [frames[0]] : [frames[0], frames[frames.length - 1]];
  const images = [];
  for (const entry of samples) {
    const data = read(bytes, entry);
    let image;
    try {
      image = await decode(data, entry.name);
    } catch (error) {
      throw fail("validation_corrupt", `${entry.name} could not be decoded as PNG.`, { entry: entry.name, error: String(error && error.message) });
    }
    if (image.width !== header.width || image.height !== header.height) {
      throw fail("validation_frame_size_mismatch", `${entry.name} decodes to ${image.width}x${image.height}; its header says ${header.width}x${header.height}.`, {
        entry: entry.name,
      });
    }
    images.push(image);
  }
  return verifiedScale(claimed, header.width, header.height, images);
}

function discrepancies(claims, actual) {
  const found = [];
  const note = (field, claimed, real) => {
    if (claimed !== null && claimed !== real) found.push({ field, metadata: claimed, actual: real });
  };
  note("frames", claims.frames, actual.frames);
  if (claims.durationMs !== null) {
    const off = Math.abs(claims.durationMs - actual.total_duration_ms);
    if (off > Math.max(20, 0.01 * actual.total_duration_ms)) {
      note("total_duration_ms", claims.durationMs, actual.total_duration_ms);
    }
  }
  note("scale", claims.scale, actual.scale);
  if (claims.storedSize) {
    note("stored_width", claims.storedSize[0], actual.stored_width);
    note("stored_height", claims.storedSize[1], actual.stored_height);
  }
  if (claims.baseSize) {
    note("width", claims.baseSize[0], actual.width);
    note("height", claims.baseSize[1], actual.height);
  }
  return found;
}

/** Limits in the server's names, any case (MAX_FRAMES works), over the defaults. */
export function limitsFrom(overrides = {}) {
  const limits = { ...DEFAULT_LIMITS };
  for (const [key, value] of Object.entries(overrides || {})) {
    const name = key.toLowerCase();
    if (!has(DEFAULT_LIMITS, name)) throw new Error(`unknown archive limit: ${key}`);
    limits[name] = value;
  }
  return limits;
}

/** The size check alone: what a page can say before it reads a byte of a chosen file. */
export function checkArchiveSize(size, limits = DEFAULT_LIMITS) {
  if (size > limits.max_archive_bytes) {
    throw fail("validation_archive_too_large", `The archive is ${size} bytes (limit ${limits.max_archive_bytes}).`, {
      size,
      limit: limits.max_archive_bytes,
    });
  }
}

/** Check a tape ZIP (Uint8Array) as the server will; see the top of this file. */
export async function checkTape(bytes, limitOverrides = {}, { decode = browserDecode } = {}) {
  const limits = limitsFrom(limitOverrides);
  checkArchiveSize(bytes.length, limits);
  const entries = checkDirectory(bytes, limits);
  const found = scanEntries(entries, bytes.length, limits);
  const names = found.frames.map((entry) => entry.name);
  const rows = parseTiming(readJson(bytes, found.timing, "timing", limits));
  const rawMeta = readJson(bytes, found.metadata, "metadata", limits);
  const claims = parseMetadata(rawMeta);
  matchTiming(rows, names);
  const durations = checkDurations(rows, limits);
  const headers = checkFrameHeaders(bytes, found.frames, limits);
  const first = headers[0];
  const scale = await verifyScale(bytes, found.frames, first, claims.scale || 1, decode);
  const baseWidth = Math.floor(first.width / scale);
  const baseHeight = Math.floor(first.height / scale);
  if (baseWidth > limits.max_base_width || baseHeight > limits.max_base_height) {
    throw fail(
      "validation_dimensions",
      `The tape is ${baseWidth}x${baseHeight} at 1x (stored ${first.width}x${first.height}, scale ${scale}); the limit is ${limits.max_base_width}x${limits.max_base_height}.`,
      { width: baseWidth, height: baseHeight, scale, claimed_scale: claims.scale },
    );
  }
  const total = fsum(durations);
  const actual = {
    frames: names.length,
    total_duration_ms: total,
    scale,
    stored_width: first.width,
    stored_height: first.height,
    width: baseWidth,
    height: baseHeight,
  };
  return {
    frames: names,
    durations,
    durationMs: total,
    width: first.width,
    height: first.height,
    scale,
    baseWidth,
    baseHeight,
    bytes: bytes.length,
    discrepancies: discrepancies(claims, actual),
    piece: claims.piece,
    fps: claims.fps,
    created: claims.created,
    metadata: rawMeta,
    metadataShape: claims.shape,
    ignored: found.ignored,
  };
}

/** Every frame of a checked tape as PNG bytes, in order, each read within its declared size and
 * CRC-checked: what a page previews. */
export function readFrames(bytes, names) {
  const end = findEnd(bytes);
  const byName = new Map(readDirectory(bytes, end).map((entry) => [entry.name, entry]));
  return names.map((name) => read(bytes, byName.get(name)));
}
