// The embed page, in another site's iframe: the tape's video, looping, at a whole number of pixels
// per pixel of the drawing to the largest that fits the frame (player.js's fit, given the
// frame's height), paused and played by a click on the picture or the bar's button. No polling:
// the page is only ever shown for a ready tape (a tape still being made shows a card).
import { attachControls, videoSource } from "./player.js";

const state = JSON.parse(document.getElementById("embed-state").textContent);
const container = document.getElementById("player");
const screen = document.getElementById("screen");
const video = document.getElementById("tape-video");
const button = document.getElementById("embed-play");
const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");

const controls = attachControls(container, null, {
  art: state.width && state.height ? { width: state.width, height: state.height } : null,
  bar: false,
  fitHeight: () => screen.clientHeight,
  label: document.title,
});

if (reducedMotion.matches) {
  video.removeAttribute("autoplay");
  video.pause();
}
controls.setSource(videoSource(video, state.frame_ms || []));

// The bar's button says what a press does, as the picture's paused mark does.
function showPaused() {
  const paused = container.dataset.paused === "true";
  button.dataset.paused = String(paused);
  const label = paused ? "Play" : "Pause";
  button.setAttribute("aria-label", label);
  button.title = label;
}
new MutationObserver(showPaused).observe(container, {
  attributes: true,
  attributeFilter: ["data-paused"],
});
showPaused();
button.addEventListener("click", () => controls.togglePlay());
