// Posting a tape (docs/api.md): start an upload slot, send the ZIP straight to storage through
// the presigned form (with real upload progress), then register it. A failed post can be resumed:
// `Poster` remembers how far it got, so a retry never asks for a new recording.

import { ApiError, api, formatLimit } from "./site.js";

const CLAIMS_KEY = "tapesite.claims";

/** An ApiError that also says which step of posting failed ("start" | "upload" | "register"). */
export class PostError extends ApiError {
  constructor(code, message, { step, status = 0, details = null } = {}) {
    super(code, message, { status, details });
    this.name = "PostError";
    this.step = step;
  }
}

// The posting flow's own codes (the words in web/words.py) for what the shared API call reports
// in general terms: no answer at all, or an answer that was not the API's JSON error.
function postingCode(error) {
  if (error.code === "network_error") return "network";
  if (error.code === `http_${error.status}`) {
    return error.status >= 500 || error.status < 400 ? "server_error" : "invalid_input";
  }
  return error.code;
}

async function apiPost(url, body, step) {
  try {
    return await api(url, { method: "POST", body });
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    const code = postingCode(error);
    // Only the API's own message is worth showing; the words table explains the rest.
    const message = code === error.code || code === "network" ? error.message : "";
    throw new PostError(code, message, { step, status: error.status, details: error.details });
  }
}

// What storage said when it refused the form: our local endpoint answers with the API's JSON
// error; S3 answers with XML (<Code>EntityTooLarge</Code>, <Code>AccessDenied</Code>, ...).
function storageError(xhr) {
  const text = xhr.responseText || "";
  try {
    const error = JSON.parse(text).error;
    if (error && error.code) {
      return new PostError(error.code, error.message, { step: "upload", status: xhr.status });
    }
  } catch {
    // not JSON: S3
  }
  const s3 = text.match(/<Code>([^<]+)<\/Code>/);
  const s3Message = (text.match(/<Message>([^<]+)<\/Message>/) || [])[1] || "";
  const s3Code = s3 ? s3[1] : "";
  if (s3Code === "EntityTooLarge") {
    return new PostError("upload_too_large", s3Message, { step: "upload", status: xhr.status });
  }
  if (s3Code === "AccessDenied" && /expired/i.test(s3Message)) {
    return new PostError("upload_expired", s3Message, { step: "upload", status: xhr.status });
  }
  const code = xhr.status >= 500 ? "storage_unavailable" : "upload_refused";
  return new PostError(code, s3Message || `storage answered ${xhr.status}`, {
    step: "upload",
    status: xhr.status,
  });
}

function sendForm(upload, zip, onProgress) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [name, value] of Object.entries(upload.fields)) form.append(name, value);
    form.append("file", zip, "tape.zip"); // last, as S3 requires
    const xhr = new XMLHttpRequest();
    xhr.open(upload.method || "POST", upload.url);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(1);
        resolve();
      } else {
        reject(storageError(xhr));
      }
    };
    xhr.onerror = () => reject(new PostError("network", "", { step: "upload" }));
    xhr.onabort = () => reject(new PostError("network", "aborted", { step: "upload" }));
    xhr.send(form);
  });
}

/** Keep a guest's claim token (shown once) so signing in later can claim the tape. */
export function rememberClaim(code, token) {
  let claims = [];
  try {
    claims = JSON.parse(localStorage.getItem(CLAIMS_KEY) || "[]");
    if (!Array.isArray(claims)) claims = [];
  } catch {
    claims = [];
  }
  claims = claims.filter((claim) => claim && claim.code !== code);
  claims.push({ code, token });
  try {
    localStorage.setItem(CLAIMS_KEY, JSON.stringify(claims));
  } catch {
    // storage full or disabled: the tape is posted all the same
  }
}

// Errors after which the upload already in storage is still good: only registering is retried.
const REGISTER_AGAIN = new Set(["network", "server_error", "storage_unavailable", "throttled"]);

export class Poster {
  constructor({ uploadsUrl, tapesUrl }) {
    this.uploadsUrl = uploadsUrl;
    this.tapesUrl = tapesUrl;
    this.ticket = null;
    this.uploaded = false;
    this.lastError = null;
  }

  /**
   * Post `zip`; `onStep(step)` gets "start" | "upload" | "register", `onProgress(0..1)` the
   * upload's progress. Resolves to the posting response ({code, slug, status, url, ...}).
   */
  async post({ zip, piece, metadata, onStep = () => {}, onProgress = () => {} }) {
    const resume =
      this.ticket &&
      this.uploaded &&
      this.lastError &&
      this.lastError.step === "register" &&
      REGISTER_AGAIN.has(this.lastError.code);
    try {
      if (!resume) {
        this.ticket = null;
        this.uploaded = false;
        onStep("start");
        this.ticket = await apiPost(this.uploadsUrl, { piece, bytes: zip.size }, "start");
        onStep("upload");
        await sendForm(this.ticket.upload, zip, onProgress);
        this.uploaded = true;
      }
      onStep("register");
      const body = { slug: this.ticket.slug, metadata };
      if (this.ticket.upload_token) body.upload_token = this.ticket.upload_token;
      const posted = await apiPost(this.tapesUrl, body, "register");
      if (posted.claim_token) rememberClaim(posted.code, posted.claim_token);
      this.lastError = null;
      return posted;
    } catch (error) {
      this.lastError =
        error instanceof PostError ? error : new PostError("server_error", String(error));
      throw this.lastError;
    }
  }
}

/** The reason in plain words, from the page's table of codes. */
export function describe(error, words) {
  if (error.code === "throttled" && error.details && error.details.retry_after) {
    const seconds = Math.ceil(Number(error.details.retry_after));
    return `Too many posts in a short time. Wait ${seconds} s, then retry.`;
  }
  if (error.code === "quota_exceeded") return describeQuota(error, words);
  const said = words[error.code] || error.message || words.server_error;
  if (error.code === "upload_too_large" && error.details && error.details.max_bytes) {
    return `${said} (The limit is ${formatLimit(error.details.max_bytes)}.)`;
  }
  return said;
}

// A daily posting quota (docs/api.md): what was reached, and when posting opens again, in the
// visitor's own clock.
function describeQuota(error, words) {
  const details = error.details || {};
  const parts = [words.quota_exceeded || error.message];
  const resets = details.resets_at ? new Date(details.resets_at) : null;
  if (resets && !Number.isNaN(resets.getTime())) {
    const when = resets.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
    parts.push(`You can post again after ${when}.`);
  }
  if (details.poster === "guest") parts.push("Signing in gives you an allowance of your own.");
  return parts.join(" ");
}
