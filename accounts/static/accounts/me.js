// /me: the linked AT Protocol account, from the federation API (GET /api/me/atproto). Until that
// API exists on the site, the placeholder text stays.
(() => {
  "use strict";
  const section = document.getElementById("atproto");
  if (!section) return;
  const status = section.querySelector(".atproto-status");
  const manage = section.dataset.page;

  function show(text, linkText) {
    status.textContent = text;
    if (linkText && manage) {
      const link = document.createElement("a");
      link.href = manage;
      link.textContent = linkText;
      status.append(" ", link);
    }
  }

  fetch(section.dataset.endpoint, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(async (response) => {
      const body = await response.json().catch(() => null);
      const error = body && body.error;
      if (response.ok && body && body.handle) {
        section.dataset.linked = "true";
        show(`Linked to @${body.handle} (${body.did}).`, "Manage");
      } else if (error && error.code === "atproto_not_linked") {
        section.dataset.linked = "false";
        show("No AT Protocol account is linked: your tapes stay on this site.", "Link one");
      }
      // Anything else (the API not there yet, a hiccup): keep the placeholder.
    })
    .catch(() => {});
})();
