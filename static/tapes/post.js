// Posting a take to Tapesite (docs/api.md, docs/recorder.md): start an upload slot, send the ZIP
// straight to storage through the presigned form (with real upload progress), then register it.
// A `Poster` remembers how far it got, so posting again after a failure resumes: an upload that
// is already in storage is only registered again.
//
// Same-origin (Tapesite's own pages): the session cookie and X-CSRFToken from the csrftoken
// cookie. Cross-origin: no cookies at all (`credentials: "omit"`), and `Authorization: Bearer`
// when a token is given; otherwise the site posts as a guest and the answer carries a claim token,
// kept in this page's localStorage under "tapes.claims".
//
// No request waits forever: each one is watched (`watch`), and one that shows no sign of life
// (an answer, or for the upload its progress) for the stall window fails (`timeout`,
// `upload_stalled`); `Poster.cancel()` ends the one in flight (`post_cancelled`).
import { TapesError, readApiAnswer } from "./errors.js";
import { STALL_SECONDS } from "./limits.js";

export const CLAIMS_KEY = "tapes.claims";

// Errors after which the upload already in storage is still good: only registering is retried.
// A cancelled or timed-out registration counts too: the ZIP is in storage whatever became of it.
const REGISTER_AGAIN = new Set([
  "network",
  "server_error",
  "storage_unavailable",
  "throttled",
  "timeout",
  "post_cancelled",
]);

function csrfToken() {
  if (typeof document === "undefined") return "";
  const found = document.cookie.split("; ").find((part) => part.startsWith("csrftoken="));
  return found ? decodeURIComponent(found.slice("csrftoken=".length)) : "";
}

/** The origin of the page running this code (a window or a worker). */
export function pageOrigin() {
  return globalThis.location ? globalThis.location.origin : "";
}

// An answer that is not the API's JSON error: our own general codes.
function answerCode(status) {
  return status >= 500 || status < 400 ? "server_error" : "invalid_input";
}

/**
 * One request's watch: its `signal` aborts when `cancel` (the post's) aborts, or when `stallMs`
 * pass without `alive()` being called; `failure(step)` is then the TapesError to reject with.
 * `end()` once the request settled.
 */
function watch(cancel, stallMs, stalledCode) {
  const controller = new AbortController();
  let why = null;
  const stop = (reason) => {
    if (why) return;
    why = reason;
    controller.abort();
  };
  const onCancel = () => stop("post_cancelled");
  let timer = null;
  const alive = () => {
    clearTimeout(timer);
    timer = setTimeout(() => stop(stalledCode), stallMs);
  };
  alive();
  if (cancel.aborted) onCancel();
  else cancel.addEventListener("abort", onCancel, { once: true });
  return {
    signal: controller.signal,
    alive,
    stopped: () => why,
    failure: (step) =>
      new TapesError(why, undefined, {
        step,
        details: why === "post_cancelled" ? null : { seconds: stallMs / 1000 },
      }),
    end: () => {
      clearTimeout(timer);
      cancel.removeEventListener("abort", onCancel);
    },
  };
}

async function apiPost(url, body, { step, sameOrigin, token, cancel, stallMs }) {
  const headers = { Accept: "application/json", "Content-Type": "application/json" };
  if (sameOrigin) headers["X-CSRFToken"] = csrfToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  const watched = watch(cancel, stallMs, "timeout");
  try {
    let response;
    try {
      response = await fetch(url, {
        method: "POST",
        credentials: sameOrigin ? "same-origin" : "omit",
        headers,
        body: JSON.stringify(body),
        signal: watched.signal,
      });
    } catch (error) {
      if (watched.stopped()) throw watched.failure(step);
      const said = error && error.message ? error.message : String(error);
      throw new TapesError("network", said, { step });
    }
    // The body is read under the same watch: headers that come without their body still stall.
    const answer = await readApiAnswer(
      response,
      (code, message, details) =>
        new TapesError(code ?? answerCode(response.status), message, {
          step,
          status: response.status,
          details,
        }),
    ).catch((error) => {
      throw watched.stopped() ? watched.failure(step) : error;
    });
    if (watched.stopped()) throw watched.failure(step);
    return answer;
  } finally {
    watched.end();
  }
}

// What storage said when it refused the form: Tapesite's local endpoint answers with the API's
// JSON error; S3 answers with XML (<Code>EntityTooLarge</Code>, <Code>AccessDenied</Code>, ...).
function storageError(xhr) {
  const text = xhr.responseText || "";
  const at = { step: "upload", status: xhr.status };
  try {
    const error = JSON.parse(text).error;
    if (error && error.code) {
      return new TapesError(error.code, error.message, { ...at, details: error.details ?? null });
    }
  } catch {
    // not JSON: S3
  }
  const s3Code = (text.match(/<Code>([^<]+)<\/Code>/) || [])[1] || "";
  const s3Message = (text.match(/<Message>([^<]+)<\/Message>/) || [])[1] || "";
  if (s3Code === "EntityTooLarge") return new TapesError("upload_too_large", s3Message, at);
  if (s3Code === "AccessDenied" && /expired/i.test(s3Message)) {
    return new TapesError("upload_expired", s3Message, at);
  }
  const code = xhr.status >= 500 ? "storage_unavailable" : "upload_refused";
  return new TapesError(code, s3Message || `Storage answered ${xhr.status}.`, at);
}

function sendForm(upload, zip, { onProgress, cancel, stallMs }) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [name, value] of Object.entries(upload.fields)) form.append(name, value);
    form.append("file", zip, "tape.zip"); // last, as S3 requires
    const xhr = new XMLHttpRequest();
    // Every progress event, either way, is a sign of life; after the last byte went up, the
    // wait for storage's answer is watched just the same.
    const watched = watch(cancel, stallMs, "upload_stalled");
    watched.signal.addEventListener("abort", () => xhr.abort(), { once: true });
    const settle = (done) => {
      watched.end();
      done();
    };
    xhr.open(upload.method || "POST", upload.url);
    xhr.upload.onprogress = (event) => {
      watched.alive();
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    };
    xhr.onprogress = () => watched.alive();
    xhr.onreadystatechange = () => watched.alive();
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(1);
        settle(resolve);
      } else {
        settle(() => reject(storageError(xhr)));
      }
    };
    // A browser reports storage that refused this page's origin (its CORS) as a network error.
    const where = new URL(upload.url, globalThis.location ? globalThis.location.href : undefined).origin;
    const unreachable = `Storage at ${where} could not be reached, or did not allow this page's origin.`;
    xhr.onerror = () => settle(() => reject(new TapesError("network", unreachable, { step: "upload" })));
    xhr.onabort = () =>
      settle(() =>
        reject(
          watched.stopped()
            ? watched.failure("upload")
            : new TapesError("network", "The upload was aborted.", { step: "upload" }),
        ),
      );
    if (watched.signal.aborted) xhr.abort();
    else xhr.send(form);
  });
}

/** Keep a guest's claim token in this page's localStorage ("tapes.claims"). */
export function keepClaim({ site, code, token }) {
  let claims = [];
  try {
    claims = JSON.parse(globalThis.localStorage.getItem(CLAIMS_KEY) || "[]");
    if (!Array.isArray(claims)) claims = [];
  } catch {
    claims = [];
  }
  claims = claims.filter((claim) => claim && !(claim.site === site && claim.code === code));
  claims.push({ site, code, token, at: new Date().toISOString() });
  try {
    globalThis.localStorage.setItem(CLAIMS_KEY, JSON.stringify(claims));
  } catch {
    // storage full, disabled or absent (a worker): the answer's claimUrl still carries the token
  }
}

/** The URL on `site` where a guest claims the tape `code` with its `token`. */
export function claimUrl(site, code, token) {
  return `${site}/claim?code=${encodeURIComponent(code)}#token=${encodeURIComponent(token)}`;
}

export class Poster {
  constructor() {
    this.ticket = null;
    this.uploaded = false;
    this.lastError = null;
    this.site = null;
    this.inFlight = null; // the AbortController of the post under way
  }

  /** End the post under way, if any: it rejects with `post_cancelled`. True if there was one. */
  cancel() {
    if (!this.inFlight) return false;
    this.inFlight.abort();
    return true;
  }

  /**
   * Post `zip` to `site`; `onProgress(step, fraction)` gets step "start" | "upload" | "register".
   * A guest's claim token goes to "tapes.claims" unless `keepClaims` is false (Tapesite's own
   * recorder page keeps it where the site's pages look, "tapesite.claims").
   * Each request may go `stallMs` without a sign of life before it fails (`timeout`, or
   * `upload_stalled` for the upload); `cancel()` ends it (`post_cancelled`).
   * Resolves to the API's answer plus `url` (the tape page), `apiUrl` (the API's `url`) and, for
   * a guest, `claimUrl`. Rejects with a TapesError carrying `step`.
   */
  async post({
    site,
    zip,
    piece,
    metadata,
    provenance = null,
    token = null,
    keepClaims = true,
    stallMs = STALL_SECONDS * 1000,
    onProgress = () => {},
  }) {
    const sameOrigin = new URL(site).origin === pageOrigin();
    const resume =
      this.ticket &&
      this.uploaded &&
      this.site === site &&
      this.lastError &&
      this.lastError.step === "register" &&
      REGISTER_AGAIN.has(this.lastError.code);
    if (this.inFlight) this.inFlight.abort(); // one post at a time: a second one takes over
    const inFlight = new AbortController();
    this.inFlight = inFlight;
    const cancel = inFlight.signal;
    const how = { sameOrigin, token, cancel, stallMs };
    try {
      if (!resume) {
        this.ticket = null;
        this.uploaded = false;
        this.site = site;
        onProgress("start", 0);
        this.ticket = await apiPost(
          `${site}/api/tapes/uploads`,
          { piece, bytes: zip.size },
          { ...how, step: "start" },
        );
        onProgress("upload", 0);
        await sendForm(this.ticket.upload, zip, {
          onProgress: (fraction) => onProgress("upload", fraction),
          cancel,
          stallMs,
        });
        this.uploaded = true;
      }
      onProgress("register", 0);
      const body = { slug: this.ticket.slug, metadata };
      if (this.ticket.upload_token) body.upload_token = this.ticket.upload_token;
      if (provenance) body.provenance = provenance;
      const posted = await apiPost(`${site}/api/tapes`, body, { ...how, step: "register" });
      onProgress("register", 1);
      this.lastError = null;
      const answer = { ...posted, apiUrl: posted.url, url: `${site}/t/${posted.code}` };
      if (posted.claim_token) {
        if (keepClaims) keepClaim({ site, code: posted.code, token: posted.claim_token });
        answer.claimUrl = claimUrl(site, posted.code, posted.claim_token);
      }
      return answer;
    } catch (error) {
      if (this.inFlight !== inFlight) throw error; // taken over by a later post(): not ours to note
      this.lastError =
        error instanceof TapesError
          ? error
          : new TapesError("server_error", String(error), { step: "register" });
      throw this.lastError;
    } finally {
      if (this.inFlight === inFlight) this.inFlight = null;
    }
  }
}
