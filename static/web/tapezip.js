// Reads a tape's ZIP in the visitor's browser within fixed bounds.
//
// The ZIP is whatever was uploaded, and every visitor of the tape page plays it: before anything
// is inflated, the central directory is read and checked against the limits the page was given
// (how many entries; how many bytes each wanted entry and all of them may expand to), and then
// each entry is inflated in small steps that stop as soon as it expands past what the directory
// declared. A crafted ZIP (a bomb, an entry lying about its size, too many entries) ends in a
// TapeZipError with a stable code, never in a tab that runs out of memory.
import { Inflate } from "../vendor/fflate/fflate.js";

export class TapeZipError extends Error {
  constructor(code, message) {
    super(message);
    this.name = "TapeZipError";
    this.code = code;
  }
}

const END_OF_DIRECTORY = 0x06054b50;
const DIRECTORY_ENTRY = 0x02014b50;
const LOCAL_HEADER = 0x04034b50;
const STORED = 0;
const DEFLATED = 8;
const STEP = 16 * 1024; // compressed bytes per inflate step: at most ~16 MiB of output each
const FRAME_NAME = /^frame\d{6}\.png$/;
export const TIMING_NAME = "timing.json";

export const isWanted = (name) => FRAME_NAME.test(name) || name === TIMING_NAME;

function refuse(code, message) {
  throw new TapeZipError(code, message);
}

/** The central directory's entries, checked against `limits` (nothing is inflated). */
export function readDirectory(bytes, limits) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length > limits.maxArchiveBytes) {
    refuse("too_large", `the recording is ${bytes.length} bytes`);
  }
  let end = bytes.length - 22;
  const lowest = Math.max(0, bytes.length - 22 - 65535);
  while (end >= lowest && view.getUint32(end, true) !== END_OF_DIRECTORY) end -= 1;
  if (end < lowest) refuse("not_a_zip", "no ZIP directory found");
  const count = view.getUint16(end + 10, true);
  const size = view.getUint32(end + 12, true);
  const offset = view.getUint32(end + 16, true);
  if (count === 0xffff || size === 0xffffffff || offset === 0xffffffff) {
    refuse("unsupported", "ZIP64 archives are not played here");
  }
  if (count > limits.maxEntries) refuse("too_many_entries", `${count} entries`);
  if (offset + size > end) refuse("corrupt", "the directory points past its end");
  const entries = [];
  let at = offset;
  let total = 0;
  for (let i = 0; i < count; i += 1) {
    if (at + 46 > end || view.getUint32(at, true) !== DIRECTORY_ENTRY) {
      refuse("corrupt", `directory entry ${i} is damaged`);
    }
    const flags = view.getUint16(at + 8, true);
    const method = view.getUint16(at + 10, true);
    const compressedSize = view.getUint32(at + 20, true);
    const originalSize = view.getUint32(at + 24, true);
    const nameLength = view.getUint16(at + 28, true);
    const skip = nameLength + view.getUint16(at + 30, true) + view.getUint16(at + 32, true);
    const local = view.getUint32(at + 42, true);
    if (at + 46 + skip > end) refuse("corrupt", `directory entry ${i} runs past the directory`);
    const name = new TextDecoder().decode(bytes.subarray(at + 46, at + 46 + nameLength));
    at += 46 + skip;
    if (!isWanted(name)) continue;
    if (flags & 1) refuse("unsupported", `${name} is encrypted`);
    if (method !== STORED && method !== DEFLATED) refuse("unsupported", `${name}: method ${method}`);
    if (compressedSize === 0xffffffff || originalSize === 0xffffffff) {
      refuse("unsupported", "ZIP64 entries are not played here");
    }
    if (method === STORED && compressedSize !== originalSize) {
      refuse("corrupt", `${name} has inconsistent sizes`);
    }
    const most = name === TIMING_NAME ? limits.maxJsonBytes : limits.maxEntryBytes;
    if (originalSize > most) refuse("entry_too_large", `${name} expands to ${originalSize} bytes`);
    if (originalSize > limits.ratioCheckMinBytes && originalSize / Math.max(compressedSize, 1) > limits.maxEntryRatio) {
      refuse("entry_too_large", `${name} expands ${Math.round(originalSize / Math.max(compressedSize, 1))}x`);
    }
    total += originalSize;
    if (total > limits.maxTotalBytes) refuse("too_large", `the frames expand past ${limits.maxTotalBytes} bytes`);
    entries.push({ name, method, compressedSize, originalSize, local });
  }
  return entries;
}

function entryData(bytes, view, entry) {
  const at = entry.local;
  if (at + 30 > bytes.length || view.getUint32(at, true) !== LOCAL_HEADER) {
    refuse("corrupt", `${entry.name} has no local header`);
  }
  const start = at + 30 + view.getUint16(at + 26, true) + view.getUint16(at + 28, true);
  const stop = start + entry.compressedSize;
  if (stop > bytes.length) refuse("corrupt", `${entry.name} runs past the end of the file`);
  return bytes.subarray(start, stop);
}

/** An entry's bytes; throws as soon as the data expands past its declared size. */
function inflateEntry(data, entry) {
  if (entry.method === STORED) return data.slice();
  const out = new Uint8Array(entry.originalSize);
  let produced = 0;
  const inflater = new Inflate((chunk) => {
    if (produced + chunk.length > entry.originalSize) {
      refuse("entry_lies", `${entry.name} expands past the ${entry.originalSize} bytes it declared`);
    }
    out.set(chunk, produced);
    produced += chunk.length;
  });
  try {
    for (let at = 0; at < data.length; at += STEP) {
      inflater.push(data.subarray(at, Math.min(at + STEP, data.length)), at + STEP >= data.length);
    }
    if (data.length === 0) inflater.push(new Uint8Array(0), true);
  } catch (error) {
    if (error instanceof TapeZipError) throw error;
    refuse("corrupt", `${entry.name} could not be inflated`);
  }
  if (produced !== entry.originalSize) refuse("corrupt", `${entry.name} is shorter than declared`);
  return out;
}

const pause = () => new Promise((resolve) => setTimeout(resolve, 0));

/** {name: bytes} of the frames and timing.json, within `limits`. Yields to the page between
 * entries now and then so a long tape never freezes it. */
export async function unzipTape(bytes, limits) {
  const entries = readDirectory(bytes, limits);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const files = {};
  let since = performance.now();
  for (const entry of entries) {
    files[entry.name] = inflateEntry(entryData(bytes, view, entry), entry);
    if (performance.now() - since > 30) {
      await pause();
      since = performance.now();
    }
  }
  return files;
}

/** The ZIP at `url`, read no further than `limits.maxArchiveBytes`. */
export async function fetchTapeZip(url, limits) {
  const response = await fetch(url);
  if (!response.ok) {
    // Its body (an error in JSON) is never read: let the browser drop it and the connection.
    response.body?.cancel().catch(() => {});
    throw new Error(`the recording answered ${response.status}`);
  }
  const declared = Number(response.headers.get("Content-Length") || 0);
  if (declared > limits.maxArchiveBytes) refuse("too_large", `the recording is ${declared} bytes`);
  if (!response.body) return new Uint8Array(await response.arrayBuffer());
  const reader = response.body.getReader();
  const parts = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.length;
    if (length > limits.maxArchiveBytes) {
      reader.cancel();
      refuse("too_large", "the recording is larger than tapes may be");
    }
    parts.push(value);
  }
  const bytes = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
  }
  return bytes;
}
