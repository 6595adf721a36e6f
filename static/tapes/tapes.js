// tapes.js: record any canvas as a Tapesite tape, and post it. Documented in docs/recorder.md.
//
//   import * as Tapes from "https://TAPESITE/static/tapes/tapes.js";
//   const take = Tapes.record(canvas, { piece: "orbits" });
//   ...
//   const result = await take.stop();   // { zip, bytes, frames, durationMs, metadata, blank }
//   const posted = await take.post();   // the API's answer + { url, claimUrl }
//
// This file is the public entry (its exports are the API); the rest is by concern: capture.js
// reads canvases, realtime.js is realtime mode's clock, limits.js the limits and options,
// timing.js a take's timing and metadata, take.js the take itself, pack-worker.js the packing
// worker that streams PNGs into the tape ZIP as frames come, post.js posting, errors.js the
// error type and its words. Vanilla ES modules, no build step; nothing is imported from outside
// static/tapes/ and static/vendor/.
import { checkReadable, contextOf, isCanvas, sizeOf } from "./capture.js";
import { TapesError, describe } from "./errors.js";
import { LIMITS, checkSize } from "./limits.js";
import { Take } from "./take.js";

export { LIMITS, TapesError, describe };

/** The library's version (semver; see docs/recorder.md for what it promises). */
export const VERSION = "1.1.0";

/**
 * Start recording `canvas` (an HTMLCanvasElement or OffscreenCanvas with a 2d, webgl or webgl2
 * context). Throws a TapesError at once for a canvas that cannot be recorded.
 */
export function record(canvas, options = {}) {
  if (!canvas || !isCanvas(canvas)) throw new TapesError("canvas_invalid");
  const context = contextOf(canvas);
  const [width, height] = sizeOf(canvas, context);
  checkSize(width, height);
  checkReadable(canvas, context);
  return new Take(canvas, context, options);
}
