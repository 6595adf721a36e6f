// Posting a take to Tapesite (docs/api.md, docs/recorder.md): start an upload slot, send the ZIP
// straight to storage through the presigned form (with real upload progress), then register it.
// A `Poster` remembers how far it got, so posting again after a failure resumes: an upload that
// is already in storage is only registered again.
//
// Same-origin (Tapesite's own pages): the session cookie and X-CSRFToken from the csrftoken
// cookie. Cross-origin: no cookies at all (`credentials: "omit"`), and `Authorization: Bearer`
// when a token is given; otherwise the site posts as a guest and the answer carries a claim token,
// kept in this page's localStorage under "tapes.claims".
import { TapesError, readApiAnswer } from "./errors.js";

export const CLAIMS_KEY = "tapes.claims";

// Errors after which the upload already in storage is still good: only registering is retried.
const REGISTER_AGAIN = new Set(["network", "server_error", "storage_unavailable", "throttled"]);

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

async function apiPost(url, body, { step, sameOrigin, token }) {
  const headers = { Accept: "application/json", "Content-Type": "application/json" };
  if (sameOrigin) headers["X-CSRFToken"] = csrfToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(url, {
      method: "POST",
      credentials: sameOrigin ? "same-origin" : "omit",
      headers,
      body: JSON.stringify(body),
    });
  } catch (error) {
    const said = error && error.message ? error.message : String(error);
    throw new TapesError("network", said, { step });
  }
  return readApiAnswer(
    response,
    (code, message, details) =>
      new TapesError(code ?? answerCode(response.status), message, {
        step,
        status: response.status,
        details,
      }),
  );
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
    // A browser reports storage that refused this page's origin (its CORS) as a network error.
    const where = new URL(upload.url, globalThis.location ? globalThis.location.href : undefined).origin;
    const unreachable = `Storage at ${where} could not be reached, or did not allow this page's origin.`;
    xhr.onerror = () => reject(new TapesError("network", unreachable, { step: "upload" }));
    xhr.onabort = () => reject(new TapesError("network", "The upload was aborted.", { step: "upload" }));
    xhr.send(form);
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
  }

  /**
   * Post `zip` to `site`; `onProgress(step, fraction)` gets step "start" | "upload" | "register".
   * A guest's claim token goes to "tapes.claims" unless `keepClaims` is false (Tapesite's own
   * recorder page keeps it where the site's pages look, "tapesite.claims").
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
    const how = { sameOrigin, token };
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
        await sendForm(this.ticket.upload, zip, (fraction) => onProgress("upload", fraction));
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
      this.lastError =
        error instanceof TapesError
          ? error
          : new TapesError("server_error", String(error), { step: "register" });
      throw this.lastError;
    }
  }
}
