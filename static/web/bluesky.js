// The owner's "Post to Bluesky" box on the tape page (#bluesky, rendered by the bluesky app).
// Its forms work without this script; with it, posting, retrying and deleting go through the
// API (POST / DELETE /api/tapes/<code>/bluesky) and the box follows the post's state, asking
// the API again every few seconds while it is posting or deleting. The CSS shows each part
// from data-state (none pending deleting done failed) and data-bluesky-show: the box sits inside
// the tape's own data-state component, whose data-show rules would hide its parts.
import { ApiError, api } from "./site.js";

const box = document.getElementById("bluesky");
const POLL_MS = 3000;
let timer = null;

function show(id, text, visible = Boolean(text)) {
  const element = document.getElementById(id);
  if (!element) return;
  element.textContent = text || "";
  element.hidden = !visible;
}

function render(post) {
  box.dataset.state = post.state;
  const link = document.getElementById("bluesky-link");
  if (link) link.href = post.url || "#";
  const progress = document.getElementById("bluesky-progress");
  // No value until the video service reports some: an indeterminate bar, not an empty one.
  if (progress && post.progress) progress.value = post.progress;
  else if (progress) progress.removeAttribute("value");
  show("bluesky-retrying", post.state === "pending" ? post.message : "");
  show("bluesky-fallback", post.fallback ? post.message : "");
  show("bluesky-failure", post.state === "failed" ? post.message : "", true);
  const video = document.getElementById("bluesky-video");
  if (video) video.hidden = !post.fallback;
  const card = document.getElementById("bluesky-as-card");
  if (card) card.hidden = post.embed !== "external";
  clearTimeout(timer);
  if (post.state === "pending" || post.state === "deleting") timer = setTimeout(refresh, POLL_MS);
}

async function refresh() {
  try {
    render(await api(box.dataset.api));
  } catch {
    timer = setTimeout(refresh, POLL_MS * 3);
  }
}

async function act(kind, form) {
  const buttons = form.querySelectorAll("button");
  for (const button of buttons) button.disabled = true;
  show("bluesky-error", "");
  try {
    render(await api(box.dataset.api, { method: kind === "delete" ? "DELETE" : "POST" }));
  } catch (error) {
    show("bluesky-error", error instanceof ApiError ? error.message : String(error));
  } finally {
    for (const button of buttons) button.disabled = false;
  }
}

if (box && box.dataset.api) {
  for (const form of box.querySelectorAll("form[data-bluesky]")) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      act(form.dataset.bluesky, form);
    });
  }
  if (box.dataset.state === "pending" || box.dataset.state === "deleting") refresh();
}
