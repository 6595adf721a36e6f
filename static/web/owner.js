// The guest's controls on the page of a tape they posted: this browser holds its claim token
// (claims.js), which proves it. Delete asks first (a <dialog>), then the API deletes with the
// token in X-Claim-Token; the page then offers the undo with the same token for as long as it
// stays open (the server allows it for TAPES_OWNER_UNDO_SECONDS).
import { claimTokenFor } from "./claims.js";
import { ApiError, api } from "./site.js";

const $ = (id) => document.getElementById(id);
const panel = $("guest-panel");
const state = JSON.parse($("tape-state").textContent);
const token = panel ? claimTokenFor(panel.dataset.code) : null;

function say(text, kind = "success") {
  const notice = $("deleted-notice");
  notice.className = `notice notice-${kind}`;
  notice.querySelector("p").firstChild.textContent = `${text} `;
  notice.hidden = false;
}

async function remove() {
  try {
    await api(state.api_url, { method: "DELETE", headers: { "X-Claim-Token": token } });
  } catch (error) {
    say(`Could not delete it: ${error instanceof ApiError ? error.message : error}.`, "error");
    $("undo-delete").hidden = true;
    return;
  }
  document.getElementById("tape").dataset.deleted = "true";
  for (const id of ["screen", "screen-controls", "guest-panel", "downloads"]) {
    const element = $(id);
    if (element) element.hidden = true;
  }
  const video = $("tape-video");
  if (video) video.pause();
  $("undo-delete").hidden = false;
  say(`Deleted !${state.code}.`);
}

async function restore() {
  try {
    await api(state.restore_url, { method: "POST", headers: { "X-Claim-Token": token } });
  } catch (error) {
    say(`Could not restore it: ${error instanceof ApiError ? error.message : error}.`, "error");
    return;
  }
  window.location.reload();
}

if (panel && token) {
  panel.hidden = false;
  const dialog = $("guest-delete-dialog");
  $("guest-delete").addEventListener("click", () => dialog.showModal());
  dialog.addEventListener("close", () => {
    if (dialog.returnValue === "delete") remove();
  });
  $("undo-delete").addEventListener("click", restore);
}
