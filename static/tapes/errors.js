// The library's one error type and the plain words for every code it can carry: its own
// (recording, limits) and the site's (docs/api.md) as they reach a page through posting.

/** A failure with a stable `code`, a `message`, and for posting `step`, `status`, `details`. */
export class TapesError extends Error {
  constructor(code, message, { step = null, status = 0, details = null } = {}) {
    super(message || WORDS[code] || code);
    this.name = "TapesError";
    this.code = code;
    this.step = step;
    this.status = status;
    this.details = details;
  }
}

export const WORDS = {
  // Recording (thrown by record() and take.frame()).
  canvas_invalid: "This is not a canvas: pass an HTMLCanvasElement or an OffscreenCanvas.",
  canvas_unreadable:
    "This canvas cannot be read (its control was transferred, or its context is not 2d, webgl or webgl2).",
  canvas_tainted:
    "This canvas shows images from another site without CORS, so its pixels cannot be read.",
  canvas_empty: "This canvas has no pixels (its width or height is 0).",
  canvas_too_large: "The canvas is larger than tapes may be: at most 1024 x 1024 pixels.",
  option_invalid: "An option of the recording is not valid.",
  frame_duration_invalid: "A frame's duration must be a number of milliseconds from 0.001 to 10000.",
  not_frames_mode: "take.frame() only works in frames mode: record(canvas, {mode: \"frames\"}).",
  not_recording: "This take is not recording any more.",
  take_empty: "Nothing was recorded: the take was stopped before its first frame.",
  take_blank: "Nothing was drawn in this take, so there is nothing to post.",
  take_discarded: "This take was discarded.",
  not_recorded: "This take is not finished yet: stop it first.",
  pack_failed: "The take could not be packed into a tape.",
  // Posting (the site's codes, docs/api.md, and the posting flow's own).
  network: "The server could not be reached. Check your connection, then retry.",
  timeout: "The site did not answer in time. Try again in a moment.",
  upload_stalled: "The upload stalled: storage took it but stopped answering. Try again.",
  post_cancelled: "Posting was cancelled. The take is kept: post it again when you like.",
  server_error: "The server had a problem. Your take is safe here; retry in a moment.",
  invalid_input: "The site did not accept the post. Retry.",
  origin_not_registered: "This site is not registered with Tapesite, so it cannot post tapes.",
  site_suspended: "Posting from this site is suspended.",
  upload_too_large: "This take is too big to post. Record a shorter one.",
  upload_missing: "The upload did not arrive. Retry to send it again.",
  upload_file_missing: "The upload was empty. Retry to send it again.",
  upload_policy_invalid: "The upload permission was not accepted. Retry to get a new one.",
  upload_type_invalid: "The upload was refused as the wrong kind of file. Retry.",
  upload_expired: "The upload took too long and its permission ran out. Retry.",
  upload_not_found: "The site lost track of this upload. Retry to send it again.",
  upload_refused: "Storage refused the upload. Retry; if it keeps failing, try later.",
  storage_unavailable: "Storage is out of reach right now. Nothing was lost; retry soon.",
  too_many_open_uploads: "Too many uploads were started and not posted. Post or wait, then retry.",
  slug_invalid: "The take's name was not accepted. Retry.",
  slug_taken: "Another post took this take's name. Retry to post under a new one.",
  throttled: "Too many posts in a short time. Wait a little, then retry.",
  quota_exceeded: "You have posted as much as a day allows. Your take is safe here.",
  forbidden: "The site refused the post (your session may have expired). Reload, then retry.",
  not_authenticated: "You need to sign in again. Reload, then retry.",
  body_too_large: "The take's description was too long for the site.",
};

function megabytes(bytes) {
  const mb = bytes / (1024 * 1024);
  return mb >= 1 ? `${Math.floor(mb)} MB` : `${bytes} bytes`;
}

/** A plain English sentence for an error's code (the error's own message for unknown codes). */
export function describe(error) {
  const code = error && error.code;
  const details = (error && error.details) || {};
  if (code === "throttled" && details.retry_after) {
    const seconds = Math.ceil(Number(details.retry_after));
    return `Too many posts in a short time. Wait ${seconds} s, then retry.`;
  }
  const said = WORDS[code] || (error && error.message) || WORDS.server_error;
  if (code === "upload_too_large" && details.max_bytes) {
    return `${said} (The limit is ${megabytes(details.max_bytes)}.)`;
  }
  return said;
}

/**
 * The body of a fetch `response` from the site's API (docs/api.md): its JSON, null when empty.
 * A failed answer throws what `fail(code, message, details)` makes of it: the API's own code,
 * message and details for its JSON error {"error": {...}}; code null, with "The site answered
 * <status>." and no details, for an answer that is not the API's JSON (each caller has its own
 * general codes for those). A body that cannot be read counts as empty.
 */
export async function readApiAnswer(response, fail) {
  const text = await response.text().catch(() => "");
  let data = null;
  let parsed = false;
  try {
    data = text ? JSON.parse(text) : null;
    parsed = true;
  } catch {
    data = null;
  }
  const error = data && typeof data === "object" ? data.error : null;
  if (!response.ok && error && error.code) {
    throw fail(error.code, error.message, error.details ?? null);
  }
  if (!response.ok || !parsed) throw fail(null, `The site answered ${response.status}.`, null);
  return data;
}
