// Where the examples find Tapesite: ?tapesite=<address> (default http://127.0.0.1:8000), and
// its library loaded from there by absolute URL (a cross-origin ES module: Tapesite serves its
// static files with Access-Control-Allow-Origin).
export const DEFAULT_TAPESITE = "http://127.0.0.1:8000";

export function tapesiteUrl() {
  const asked = new URLSearchParams(location.search).get("tapesite") || DEFAULT_TAPESITE;
  const url = new URL(asked);
  return url.origin;
}

/** Import one module of Tapesite's library ("tapes.js", "tape-recorder.js"). */
export function loadLibrary(site, file) {
  return import(`${site}/static/tapes/${file}`);
}
