// Guest tapes waiting in this browser. The recorder keeps a claim token for every tape posted
// without an account under localStorage "tapesite.claims" ([{code, token}]); once signed in, the
// header offers them, and /me claims them when the person says so (never silently: on a shared
// computer they may be someone else's).
(() => {
  "use strict";
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

  function csrfToken() {
    const found = document.cookie.split("; ").find((part) => part.startsWith("csrftoken="));
    if (found) return decodeURIComponent(found.slice("csrftoken=".length));
    const field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  // Claims every stored token; returns {claimed: [codes], refused: [{code, message}]}. Entries the
  // server answered for (claimed or refused for good) leave storage; the rest stay for later.
  async function claimAll() {
    const pending = read();
    const claimed = [];
    const refused = [];
    for (let start = 0; start < pending.length; start += BATCH) {
      const batch = pending.slice(start, start + BATCH);
      const response = await fetch("/api/tapes/claim", {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          "X-CSRFToken": csrfToken(),
        },
        body: JSON.stringify({ tokens: batch.map((e) => e.token) }),
      });
      const body = await response.json().catch(() => null);
      if (!response.ok || !body) {
        const message = body && body.error ? body.error.message : `HTTP ${response.status}`;
        throw new Error(message);
      }
      const answered = new Set();
      for (const result of body.results) {
        answered.add(batch[result.index].token);
        if (result.claimed) claimed.push(result.code);
        else refused.push({ code: batch[result.index].code, message: result.error && result.error.message });
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
    const link = document.querySelector(".account-claims");
    if (link) {
      link.hidden = count === 0;
      link.textContent = `Claim ${plural(count)} you posted as a guest`;
    }
    const section = document.getElementById("claims");
    if (!section) return;
    section.hidden = count === 0;
    const counter = section.querySelector(".claims-count");
    if (counter) counter.textContent = plural(count);
    const button = section.querySelector(".claims-button");
    const result = section.querySelector(".claims-result");
    if (!button || button.dataset.bound) return;
    button.dataset.bound = "1";
    button.addEventListener("click", async () => {
      button.disabled = true;
      result.textContent = "Claiming…";
      try {
        const { claimed, refused } = await claimAll();
        const parts = [];
        if (claimed.length) parts.push(`${plural(claimed.length)} now yours: ${claimed.map((c) => `!${c}`).join(", ")}.`);
        if (refused.length) parts.push(`${plural(refused.length)} could not be claimed (${refused.map((r) => r.message).join("; ")}).`);
        result.textContent = parts.join(" ");
        result.dataset.claimed = claimed.join(",");
        if (claimed.length) setTimeout(() => window.location.reload(), 1500);
      } catch (error) {
        result.textContent = `Claiming did not work: ${error.message}. Your tapes are still waiting; try again.`;
      } finally {
        button.disabled = false;
        offer();
        section.hidden = false; // keep the outcome visible
      }
    });
  }

  window.tapesiteClaims = { read, claimAll };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", offer);
  else offer();
})();
