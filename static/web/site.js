// What every page script shares (an ES module, no build step; import it as "./site.js"):
//
//   csrfToken()            Django's CSRF token: the `csrftoken` cookie, else a form's
//                          `csrfmiddlewaretoken` input, else "".
//   api(url, options)      A JSON call to the site's API (docs/api.md). Resolves to the parsed
//                          body (null for an empty one); any failure throws an ApiError.
//   ApiError               {code, message, details, status}: the API's error shape
//                          {"error": {"code", "message", "details"}} as an exception. No
//                          answer at all is code "network_error" (status 0, the browser's
//                          own message, e.g. "Failed to fetch"); an answer that is not the
//                          API's JSON is code "http_<status>", message "The site answered
//                          <status>.". An aborted call (`signal`) rejects with the browser's
//                          AbortError, as fetch does.
//   copyText(text)         Puts text on the clipboard (the Clipboard API, else a hidden
//                          textarea and the copy command); resolves to true or false.
//   formatSeconds(ms)      "2.5": milliseconds as seconds with one decimal (no unit).
//   formatBytes(bytes)     "37 KB": a file's size in whole kilobytes, at least 1.
//   formatLimit(bytes)     "100 MB": a size limit in whole megabytes, rounded down so it is
//                          never overstated; below 1 MB in bytes ("64 bytes").

import { readApiAnswer } from "../tapes/errors.js";

/** Django's CSRF token, for the X-CSRFToken header of a write. */
export function csrfToken() {
  const found = document.cookie.split("; ").find((part) => part.startsWith("csrftoken="));
  if (found) return decodeURIComponent(found.slice("csrftoken=".length));
  const field = document.querySelector("input[name=csrfmiddlewaretoken]");
  return field ? field.value : "";
}

/** A failed API call: the API's stable code and message, or one of ours (see the top). */
export class ApiError extends Error {
  constructor(code, message, { status = 0, details = null } = {}) {
    super(message || code);
    this.name = "ApiError";
    this.code = code;
    this.status = status;
    this.details = details;
  }
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Call the API: `body` (if any) is sent as JSON, writes carry the CSRF token. Resolves to the
 * answer's JSON; rejects with an ApiError (never a bare TypeError or SyntaxError).
 */
export async function api(url, { method = "GET", body, headers = {}, signal } = {}) {
  const verb = method.toUpperCase();
  const sent = { Accept: "application/json", ...headers };
  if (body !== undefined) sent["Content-Type"] = "application/json";
  if (!SAFE_METHODS.has(verb)) sent["X-CSRFToken"] = csrfToken();
  let response;
  try {
    response = await fetch(url, {
      method: verb,
      credentials: "same-origin",
      headers: sent,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
  } catch (error) {
    if (error && error.name === "AbortError") throw error;
    throw new ApiError("network_error", error && error.message ? error.message : String(error));
  }
  return readApiAnswer(
    response,
    (code, message, details) =>
      new ApiError(code ?? `http_${response.status}`, message, {
        status: response.status,
        details,
      }),
  );
}

/** Copy `text` to the clipboard; true if it worked. */
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // no Clipboard API here (or not allowed): the old way
  }
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.opacity = "0";
  const focused = document.activeElement;
  document.body.append(area);
  area.select();
  let copied = false;
  try {
    copied = document.execCommand("copy");
  } catch {
    copied = false;
  }
  area.remove();
  if (focused && focused.focus) focused.focus();
  return copied;
}

/** Milliseconds as seconds with one decimal: "2.5". */
export function formatSeconds(ms) {
  return (ms / 1000).toFixed(1);
}

/** A file's size in whole kilobytes, at least 1: "37 KB". */
export function formatBytes(bytes) {
  return `${Math.max(1, Math.round(bytes / 1024))} KB`;
}

/** A size limit, never overstated: "100 MB"; below one megabyte, "64 bytes". */
export function formatLimit(bytes) {
  const mb = bytes / (1024 * 1024);
  return mb >= 1 ? `${Math.floor(mb)} MB` : `${bytes} bytes`;
}
