// What the checker's parts share (static/tapes/check.js is the whole check): its one error
// type, with the server's validation_* codes, and entry reads that fail with one of them.
import { ZipFormatError, readEntry, readPrefix } from "./zipreader.js";

export class TapeCheckError extends Error {
  constructor(code, message, details = {}) {
    super(message);
    this.name = "TapeCheckError";
    this.code = code;
    this.details = details;
  }
}

export const clip = (text, limit = 200) =>
  text.length <= limit ? text : `${text.slice(0, limit - 3)}...`;

export function fail(code, message, details = {}) {
  return new TapeCheckError(code, clip(message, 500), details);
}

export const repr = (value) => JSON.stringify(clip(String(value), 80));

/** A whole entry, CRC-checked; a damaged one is validation_corrupt. */
export function read(bytes, entry) {
  try {
    return readEntry(bytes, entry);
  } catch (error) {
    if (!(error instanceof ZipFormatError)) throw error;
    throw fail("validation_corrupt", `${entry.name} could not be read: ${error.message}.`, { entry: entry.name });
  }
}

export function prefix(bytes, entry, count) {
  try {
    return readPrefix(bytes, entry, count);
  } catch (error) {
    if (!(error instanceof ZipFormatError)) throw error;
    throw fail("validation_corrupt", `${entry.name} could not be read: ${error.message}.`, { entry: entry.name });
  }
}
