// The /claim page: /claim?code=CODE#token=TOKEN, the link another site's page gives a guest
// ("keep it: claim on Tapesite"). The token is in the fragment, so the server never sees it;
// this keeps it in localStorage "tapesite.claims" ([{code, token}], as claims.js and post.js
// keep them), then takes it out of the address (history, bookmarks, a shared screenshot).
// Signed in, claims.js's offer claims it when the person says so, never on its own.
import { keepClaim, claimTokenFor, refreshOffer } from "./claims.js";

const section = document.getElementById("claim");
const config = JSON.parse(document.getElementById("claim-config").textContent);
const code = config.code;

const fragment = new URLSearchParams(window.location.hash.replace(/^#/, ""));
const token = fragment.get("token");
if (token && code) keepClaim(code, token);
if (window.location.hash) {
  history.replaceState(null, "", window.location.pathname + window.location.search);
}

if (section.dataset.state !== "yours") {
  section.dataset.state = code && claimTokenFor(code) ? "kept" : "missing";
}
refreshOffer();
