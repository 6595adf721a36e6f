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
//
// The parts: check-common.js (the error, bounded reads), check-documents.js (timing.json,
// metadata.json), check-frames.js (PNG headers, the scale), zipreader.js (the ZIP itself).
import { TapeCheckError, fail, read, repr } from "./check-common.js";
import { checkDurations, fsum, matchTiming, parseMetadata, parseTiming, readJson } from "./check-documents.js";
import { browserDecode, checkFrameHeaders, verifyScale } from "./check-frames.js";
import { DEFLATED, STORED, ZipFormatError, findEnd, readDirectory } from "./zipreader.js";

export { TapeCheckError };
export { fsum, parseMetadata } from "./check-documents.js";
export { browserDecode, isBlockConstant, maxPngBytes, parsePngHeader, verifiedScale } from "./check-frames.js";

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
    if (!Object.prototype.hasOwnProperty.call(DEFAULT_LIMITS, name)) throw new Error(`unknown archive limit: ${key}`);
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
