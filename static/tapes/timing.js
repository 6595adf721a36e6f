// A take's timing.json and metadata.json, for the recorder library (tapes.js): durations exactly
// as given (frames mode) or from whole microseconds (realtime), docs/tape-format.md.
import { LIMITS } from "./limits.js";

/** Sums of fractional milliseconds, without float noise (33.3 + 16.7 is 50, not 50.00000000001). */
export function tidy(ms) {
  return Number(ms.toFixed(6));
}

/** The UTC time as a tape's default file name has it: YYYY.MM.DD.HH.MM.SS.mmm. */
export function slugTime(date) {
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  return (
    `${date.getUTCFullYear()}.${pad(date.getUTCMonth() + 1)}.${pad(date.getUTCDate())}.` +
    `${pad(date.getUTCHours())}.${pad(date.getUTCMinutes())}.${pad(date.getUTCSeconds())}.` +
    pad(date.getUTCMilliseconds(), 3)
  );
}

/** Frames mode: each duration as given, timestamps their running sums. */
export function framesTiming(durations) {
  let at = 0;
  return durations.map((duration) => {
    const entry = { duration, timestamp: tidy(at) };
    at += duration;
    return entry;
  });
}

/** Realtime: frames captured at `times` (ms from the first), the last lasting until `end`. */
export function realtimeTiming(times, end) {
  // Durations from whole microseconds, so they add up exactly to the take's length. A frame
  // is shown at most maxFrameMs (a tab hidden for longer has no animation frames at all): the
  // take is then that much shorter than the wall clock, rather than not a valid tape.
  const micros = times.map((t) => Math.round(t * 1000));
  const endMicros = Math.round(end * 1000);
  const longest = LIMITS.maxFrameMs * 1000;
  let at = 0;
  return micros.map((t, i) => {
    const next = i + 1 < micros.length ? micros[i + 1] - t : Math.max(endMicros - t, 1000);
    const entry = { duration: Math.min(next, longest) / 1000, timestamp: at / 1000 };
    at += Math.min(next, longest);
    return entry;
  });
}

/** metadata.json of a take of `timing` at 1x; `total` is its length in ms. */
export function tapeMetadata({ piece, timing, width, height, created }) {
  const total = tidy(timing.reduce((sum, entry) => sum + entry.duration, 0));
  const metadata = {
    piece,
    frames: timing.length,
    duration: total,
    fps: Math.round((timing.length / total) * 1000),
    resolution: { width, height, originalWidth: width, originalHeight: height, scale: 1 },
    created: created.toISOString(),
  };
  return { metadata, total };
}
