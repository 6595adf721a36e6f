// A ZIP read the way the server's reader reads it (Python's zipfile under tapes/archive/), so the
// checker in check.js reaches the same verdict on the same bytes: the end record, the central
// directory parsed by its size (not by the count the end record claims), names decoded as
// zipfile decodes them (UTF-8 with flag bit 11, else code page 437), and reads bounded by each
// entry's declared size with the CRC checked when a read reaches the end of the entry.
//
// Everything here throws ZipFormatError for a damaged archive; check.js turns it into a code.
import { Inflate } from "../vendor/fflate/fflate.js";

export class ZipFormatError extends Error {
  constructor(message) {
    super(message);
    this.name = "ZipFormatError";
  }
}

const END = 0x06054b50;
const END64 = 0x06064b50;
const END64_LOCATOR = 0x07064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
export const STORED = 0;
export const DEFLATED = 8;
// zipfile reads at least this much of an entry at a time; a read that reaches the end of the
// entry checks its CRC (so short entries are CRC-checked even when only their start is wanted).
const MIN_READ = 4096;
const STEP = 16 * 1024;

const CP437_HIGH =
  "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0";

let crcTable = null;

/** CRC-32 (the ZIP and PNG one) of `bytes`, from `start` to `end`. */
export function crc32(bytes, start = 0, end = bytes.length) {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n += 1) {
      let c = n;
      for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = start; i < end; i += 1) crc = crcTable[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function decodeName(raw, utf8) {
  if (utf8) {
    try {
      return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(raw);
    } catch {
      throw new ZipFormatError("an entry name is not valid UTF-8");
    }
  }
  let name = "";
  for (const byte of raw) name += byte < 128 ? String.fromCharCode(byte) : CP437_HIGH[byte - 128];
  return name;
}

const viewOf = (bytes) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** The end record: {count, size, offset, at, zip64} or null when there is none (as the server's
 * check_directory looks for it: the last signature within the last 64 KiB + 22 bytes). */
export function findEnd(bytes) {
  const view = viewOf(bytes);
  const lowest = Math.max(0, bytes.length - 22 - 0xffff);
  let at = bytes.length - 22;
  while (at >= lowest && view.getUint32(at, true) !== END) at -= 1;
  if (at < lowest) return null;
  let count = view.getUint16(at + 10, true);
  let size = view.getUint32(at + 12, true);
  let offset = view.getUint32(at + 16, true);
  let zip64 = false;
  const locator = at - 20;
  if (locator >= 0 && view.getUint32(locator, true) === END64_LOCATOR) {
    const where = Number(view.getBigUint64(locator + 8, true));
    if (where + 56 <= bytes.length && view.getUint32(where, true) === END64) {
      count = Number(view.getBigUint64(where + 32, true));
      size = Number(view.getBigUint64(where + 40, true));
      offset = Number(view.getBigUint64(where + 48, true));
      zip64 = true;
    }
  }
  return { count, size, offset, at, zip64 };
}

function zip64Extra(view, start, end, entry) {
  // The ZIP64 extended information field carries, in this order, whichever of the sizes and
  // the offset are 0xFFFFFFFF in the record.
  let at = start;
  while (at + 4 <= end) {
    const id = view.getUint16(at, true);
    const length = view.getUint16(at + 2, true);
    if (id === 1) {
      let field = at + 4;
      const take = () => {
        if (field + 8 > at + 4 + length) throw new ZipFormatError("corrupt ZIP64 extra field");
        const value = Number(view.getBigUint64(field, true));
        field += 8;
        return value;
      };
      if (entry.size === 0xffffffff) entry.size = take();
      if (entry.compressedSize === 0xffffffff) entry.compressedSize = take();
      if (entry.offset === 0xffffffff) entry.offset = take();
      return;
    }
    at += 4 + length;
  }
}

/** Every entry of the central directory, read as zipfile reads it. */
export function readDirectory(bytes, end) {
  const view = viewOf(bytes);
  const concat = end.at - end.size - end.offset - (end.zip64 ? 76 : 0);
  const start = end.offset + concat;
  if (start < 0) throw new ZipFormatError("bad offset for the central directory");
  const stop = Math.min(start + end.size, bytes.length);
  const entries = [];
  let at = start;
  while (at - start < end.size) {
    if (at + 46 > stop) throw new ZipFormatError("truncated central directory");
    if (view.getUint32(at, true) !== CENTRAL) {
      throw new ZipFormatError("bad magic number for the central directory");
    }
    const flags = view.getUint16(at + 8, true);
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    const raw = bytes.subarray(at + 46, Math.min(at + 46 + nameLength, stop));
    const origName = decodeName(raw, flags & 0x800);
    const nul = origName.indexOf("\0");
    const entry = {
      origName,
      // zipfile cuts a name at its first NUL; the unsafe-name check sees the whole of it.
      name: nul >= 0 ? origName.slice(0, nul) : origName,
      flags,
      method: view.getUint16(at + 10, true),
      crc: view.getUint32(at + 16, true),
      compressedSize: view.getUint32(at + 20, true),
      size: view.getUint32(at + 24, true),
      externalAttr: view.getUint32(at + 38, true),
      offset: view.getUint32(at + 42, true),
    };
    const extraStart = at + 46 + nameLength;
    zip64Extra(view, extraStart, Math.min(extraStart + extraLength, stop), entry);
    entry.offset += concat;
    entries.push(entry);
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

// Where an entry's data starts, after its local header (whose name must match the directory's).
function dataStart(bytes, entry) {
  const view = viewOf(bytes);
  const at = entry.offset;
  if (at < 0 || at + 30 > bytes.length) throw new ZipFormatError("truncated file header");
  if (view.getUint32(at, true) !== LOCAL) throw new ZipFormatError("bad magic number for file header");
  const nameLength = view.getUint16(at + 26, true);
  const extraLength = view.getUint16(at + 28, true);
  if (entry.flags & 0x20) throw new ZipFormatError("compressed patched data is not supported");
  if (entry.flags & 0x40) throw new ZipFormatError("strong encryption is not supported");
  const localFlags = view.getUint16(at + 6, true);
  const raw = bytes.subarray(at + 30, Math.min(at + 30 + nameLength, bytes.length));
  if (decodeName(raw, localFlags & 0x800) !== entry.origName) {
    throw new ZipFormatError(`file name in directory and header of ${entry.name} differ`);
  }
  if (entry.flags & 0x1) throw new ZipFormatError(`${entry.name} is encrypted`);
  return at + 30 + nameLength + extraLength;
}

// Up to `want` bytes of an entry (never past its declared size), and whether that reached its end.
function readUpTo(bytes, entry, want) {
  const start = dataStart(bytes, entry);
  const available = Math.max(0, Math.min(entry.compressedSize, bytes.length - start));
  const wanted = Math.min(want, entry.size);
  if (entry.method === STORED) {
    if (available < Math.min(wanted, entry.compressedSize)) {
      throw new ZipFormatError(`${entry.name} runs past the end of the file`);
    }
    return { data: bytes.slice(start, start + wanted), whole: wanted >= entry.size };
  }
  if (entry.method !== DEFLATED) throw new ZipFormatError(`${entry.name}: unsupported method`);
  const out = new Uint8Array(wanted);
  let produced = 0;
  let ended = false;
  const inflater = new Inflate((chunk, final) => {
    const room = wanted - produced;
    out.set(room < chunk.length ? chunk.subarray(0, room) : chunk, produced);
    produced += Math.min(room, chunk.length);
    if (final) ended = true;
  });
  const data = bytes.subarray(start, start + available);
  try {
    let at = 0;
    do {
      const next = Math.min(at + STEP, data.length);
      inflater.push(data.subarray(at, next), next >= data.length);
      at = next;
    } while (at < data.length && produced < wanted && !ended);
  } catch {
    throw new ZipFormatError(`${entry.name} could not be inflated`);
  }
  if (available < entry.compressedSize && produced < wanted) {
    throw new ZipFormatError(`${entry.name} runs past the end of the file`);
  }
  const whole = produced >= entry.size || ended || available >= entry.compressedSize;
  return { data: out.subarray(0, produced), whole };
}

/** The whole entry (at most its declared size), CRC-checked. */
export function readEntry(bytes, entry) {
  const { data } = readUpTo(bytes, entry, entry.size);
  if (crc32(data) !== entry.crc) throw new ZipFormatError(`bad CRC-32 for ${entry.name}`);
  return data;
}

/** The first `count` bytes of an entry; CRC-checked when the read reaches its end, as zipfile's
 * buffered reads do for short entries. */
export function readPrefix(bytes, entry, count) {
  const short = entry.size <= MIN_READ && (entry.method === STORED || entry.compressedSize <= MIN_READ);
  if (short) return readEntry(bytes, entry).subarray(0, count);
  return readUpTo(bytes, entry, count).data;
}
