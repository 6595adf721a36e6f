// What a take may be and how it is asked for, for the recorder library (tapes.js): the tape
// format's limits (docs/tape-format.md) and record()'s options, checked (docs/recorder.md).
import { TapesError } from "./errors.js";

/** What a tape may be (docs/tape-format.md); the library stops or refuses before them. */
export const LIMITS = Object.freeze({
  maxSeconds: 60,
  maxFrames: 3600,
  maxWidth: 1024,
  maxHeight: 1024,
  minFrameMs: 0.001,
  maxFrameMs: 10000,
});

// A 120 Hz screen still records at 60 frames a second: a frame is due this long after the last.
const GAP_SLACK_MS = 1.5;

// How long a posting request may go without a sign of life (upload progress, an answer) before
// it counts as stalled: long enough for a slow phone link, short enough that nobody waits forever.
export const STALL_SECONDS = 30;
const STALL_MAX_SECONDS = 600;

const PIECE_RE = /^[a-z0-9-]{1,32}$/;
const COLOUR_RE = /^#[0-9a-fA-F]{6}$/;

function option(name, value, valid) {
  if (!valid(value)) {
    throw new TapesError("option_invalid", `The option ${name} is not valid: ${String(value)}.`, {
      details: { option: name },
    });
  }
  return value;
}

function isHttpUrl(value) {
  try {
    return typeof value === "string" && /^https?:$/.test(new URL(value).protocol);
  } catch {
    return false;
  }
}

function rgbOf(hex) {
  return [1, 3, 5].map((at) => parseInt(hex.slice(at, at + 2), 16));
}

/**
 * record()'s options checked (a TapesError `option_invalid` names the first that is not) and
 * given their defaults. `site` defaults to the origin of `libraryUrl`, where the library came from.
 */
export function takeOptions(options, libraryUrl) {
  const o = options || {};
  // Checked in this order, so the first invalid one is always the one named.
  const mode = option("mode", o.mode ?? "realtime", (v) => v === "realtime" || v === "frames");
  const maxSeconds = option(
    "maxSeconds",
    o.maxSeconds ?? LIMITS.maxSeconds,
    (v) => typeof v === "number" && v > 0 && v <= LIMITS.maxSeconds,
  );
  const maxFrames = option(
    "maxFrames",
    o.maxFrames ?? LIMITS.maxFrames,
    (v) => Number.isInteger(v) && v > 0 && v <= LIMITS.maxFrames,
  );
  const maxFps = option("maxFps", o.maxFps ?? 60, (v) => typeof v === "number" && v > 0 && v <= 60);
  const piece = option("piece", o.piece ?? "piece", (v) => typeof v === "string" && PIECE_RE.test(v));
  const blank = option(
    "blankColour",
    o.blankColour ?? null,
    (v) => v === null || (typeof v === "string" && COLOUR_RE.test(v)),
  );
  const site = option("site", o.site ?? new URL(libraryUrl).origin, isHttpUrl);
  const encoders = option(
    "encoders",
    o.encoders ?? null,
    (v) => v === null || (Number.isInteger(v) && v >= 0 && v <= 4),
  );
  const stallSeconds = option("stallSeconds", o.stallSeconds ?? STALL_SECONDS, validStall);
  return {
    mode,
    maxMs: maxSeconds * 1000,
    maxFrames,
    minGap: 1000 / maxFps - GAP_SLACK_MS,
    piece,
    blank: blank ? rgbOf(blank) : null,
    site: site.replace(/\/+$/, ""),
    encoders,
    pieceUrl: o.pieceUrl === undefined ? (globalThis.location ? globalThis.location.href : null) : o.pieceUrl,
    source: o.source ?? null,
    seed: o.seed ?? null,
    preview: Boolean(o.preview),
    stallMs: stallSeconds * 1000,
  };
}

/** Whether `seconds` may be a stall window (record()'s and post()'s `stallSeconds`). */
export function validStall(seconds) {
  return typeof seconds === "number" && Number.isFinite(seconds) && seconds > 0 && seconds <= STALL_MAX_SECONDS;
}

/** Throws canvas_empty or canvas_too_large for a frame size a tape may not have. */
export function checkSize(width, height) {
  if (!width || !height) throw new TapesError("canvas_empty", undefined, { details: { width, height } });
  if (width > LIMITS.maxWidth || height > LIMITS.maxHeight) {
    throw new TapesError("canvas_too_large", undefined, {
      details: { width, height, max_width: LIMITS.maxWidth, max_height: LIMITS.maxHeight },
    });
  }
}

/** Whether `ms` is a duration a frame may have. */
export function validDuration(ms) {
  return typeof ms === "number" && Number.isFinite(ms) && ms >= LIMITS.minFrameMs && ms <= LIMITS.maxFrameMs;
}
