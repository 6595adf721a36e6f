// Where the examples find Tapesite: ?tapesite=<address> (default http://127.0.0.1:8000), and
// its library loaded from there by absolute URL (a cross-origin ES module: Tapesite serves its
// static files with Access-Control-Allow-Origin).
export const DEFAULT_TAPESITE = "http://127.0.0.1:8000";

/** Tapesite's origin as ?tapesite= names it; null when that is not an http(s) address. */
export function tapesiteUrl() {
  const asked = new URLSearchParams(location.search).get("tapesite") || DEFAULT_TAPESITE;
  try {
    const url = new URL(asked);
    return /^https?:$/.test(url.protocol) ? url.origin : null;
  } catch {
    return null;
  }
}

/** Import one module of Tapesite's library ("tapes.js", "tape-recorder.js") from `site`. */
export function loadLibrary(site, file) {
  return import(`${site}/static/tapes/${file}`);
}

/** Say on the page, in `shown`, why the library is not there. */
export function showLoadError(shown, site, error) {
  shown.textContent = site
    ? `Tapesite's library could not be loaded from ${site} (${error.message}). Is Tapesite running there?`
    : "?tapesite= must be Tapesite's address, like http://127.0.0.1:8000.";
  shown.hidden = false;
}
