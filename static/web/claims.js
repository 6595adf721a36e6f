// Guest tapes waiting in this browser. The recorder keeps a claim token for every tape posted
// without an account under localStorage "tapesite.claims" ([{code, token}]); once signed in, the
// header offers them, and /me claims them when the person says so (never silently: on a shared
// computer they may be someone else's).
//
// The header's .account-nav and /me's #claims carry data-state; the CSS shows their parts from
// it (data-show in tapesite.css): "none" (nothing stored: the offer is not shown), "waiting"
// (tapes to claim), and on /me "claiming" and "done" (the outcome stays in view).
import { ApiError, api } from "./site.js";

const KEY = "tapesite.claims";
const BATCH = 100; // the API's limit per request

function read() {
  try {
    const list = JSON.parse(localStorage.getItem(KEY) || "[]");
    return Array.isArray(list) ? list.filter((e) => e && typeof e.token === "string") : [];
  } catch {
    return [];
  }
}

function write(list) {
  if (list.length) localStorage.setItem(KEY, JSON.stringify(list));
  else localStorage.removeItem(KEY);
}

// Why a claim request failed, as the banner words it: the API's message, "HTTP <status>" for an
// answer that was not the API's, the browser's own words when nothing answered.
function reason(error) {
  if (error instanceof ApiError && error.code === `http_${error.status}`) {
    return `HTTP ${error.status}`;
  }
  return error.message;
}

// Claims every stored token; returns {claimed: [codes], refused: [{code, message}]}. Entries the
// server answered for (claimed or refused for good) leave storage; the rest stay for later.
async function claimAll() {
  const pending = read();
  const claimed = [];
  const refused = [];
  for (let start = 0; start < pending.length; start += BATCH) {
    const batch = pending.slice(start, start + BATCH);
    const body = await api("/api/tapes/claim", {
      method: "POST",
      body: { tokens: batch.map((e) => e.token) },
    });
    if (!body) throw new ApiError("http_200", "The site answered 200.", { status: 200 });
    const answered = new Set();
    for (const result of body.results) {
      answered.add(batch[result.index].token);
      if (result.claimed) claimed.push(result.code);
      else {
        refused.push({
          code: batch[result.index].code,
          message: result.error && result.error.message,
        });
      }
    }
    write(read().filter((e) => !answered.has(e.token)));
  }
  return { claimed, refused };
}

function plural(n) {
  return n === 1 ? "1 tape" : `${n} tapes`;
}

function offer() {
  const count = read().length;
  const waiting = count ? "waiting" : "none";
  const nav = document.querySelector(".account-nav[data-state]");
  if (nav) nav.dataset.state = waiting;
  const link = document.querySelector(".account-claims");
  if (link) link.textContent = `Claim ${plural(count)} you posted as a guest`;
  const section = document.getElementById("claims");
  if (!section) return;
  if (section.dataset.state !== "done") section.dataset.state = waiting;
  const counter = section.querySelector(".claims-count");
  if (counter) counter.textContent = plural(count);
  const button = section.querySelector(".claims-button");
  const result = section.querySelector(".claims-result");
  if (!button || button.dataset.bound) return;
  button.dataset.bound = "1";
  button.addEventListener("click", async () => {
    button.disabled = true;
    section.dataset.state = "claiming";
    result.textContent = "Claiming…";
    try {
      const { claimed, refused } = await claimAll();
      const parts = [];
      if (claimed.length) {
        const codes = claimed.map((c) => `!${c}`).join(", ");
        parts.push(`${plural(claimed.length)} now yours: ${codes}.`);
      }
      if (refused.length) {
        const why = refused.map((r) => r.message).join("; ");
        parts.push(`${plural(refused.length)} could not be claimed (${why}).`);
      }
      result.textContent = parts.join(" ");
      result.dataset.claimed = claimed.join(",");
      if (claimed.length) {
        try {
          sessionStorage.setItem(CLAIMED_KEY, JSON.stringify(claimed));
        } catch {
          // Private mode without storage: the result above is what they get.
        }
        setTimeout(() => window.location.reload(), 1500);
      }
    } catch (error) {
      result.textContent =
        `Claiming did not work: ${reason(error)}. Your tapes are still waiting; try again.`;
    } finally {
      button.disabled = false;
      // The outcome stays visible; the offer only while some tapes are still waiting.
      section.dataset.state = read().length ? "waiting" : "done";
      offer();
    }
  });
}

/** Keep the claim token of the guest tape `code` (the /claim page's link from another site). */
export function keepClaim(code, token) {
  const list = read().filter((e) => e.code !== code);
  list.push({ code, token });
  try {
    write(list);
  } catch {
    // Storage full or disabled: the page says the token is missing.
  }
}

/** Show the offer again after tokens were added on this page. */
export function refreshOffer() {
  offer();
}

/** The claim token this browser holds for the guest tape `code`, or null. */
export function claimTokenFor(code) {
  const found = read().find((e) => e.code === code);
  return found ? found.token : null;
}

// After a claim the page reloads; the outcome is said once more on the page it lands on.
const CLAIMED_KEY = "tapesite.claimed";

function sayClaimed() {
  let codes = [];
  try {
    codes = JSON.parse(sessionStorage.getItem(CLAIMED_KEY) || "[]");
    sessionStorage.removeItem(CLAIMED_KEY);
  } catch {
    return;
  }
  const place = document.getElementById("claimed-notice");
  if (!place || !Array.isArray(codes) || !codes.length) return;
  const verb = codes.length === 1 ? "is" : "are";
  place.querySelector("p").textContent =
    `${plural(codes.length)} ${verb} now yours: ${codes.map((c) => `!${c}`).join(", ")}.`;
  place.hidden = false;
}

window.tapesiteClaims = { read, claimAll };
offer();
sayClaimed();
