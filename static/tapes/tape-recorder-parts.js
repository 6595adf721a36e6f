// <tape-recorder>'s shadow DOM and its words (the element itself: ./tape-recorder.js). Parts
// carry data-show: the stylesheet shows each only in the states it names (the deck's data-state).
import { describe } from "./errors.js";

const STYLESHEET = new URL("./tape-recorder.css", import.meta.url).href;

export const STEPS = {
  start: "Getting an upload slot…",
  upload: "Uploading…",
  register: "Registering your tape…",
};

export const TEMPLATE = `
<link rel="stylesheet" href="${STYLESHEET}">
<div class="deck" part="deck" data-state="idle" hidden>
  <div class="controls" data-show="idle recording packing">
    <button type="button" class="record" part="button record" data-show="idle"><span class="dot" aria-hidden="true"></span>Record</button>
    <button type="button" class="stop" part="button stop" data-show="recording"><span class="square" aria-hidden="true"></span>Stop</button>
    <div class="clock">
      <progress class="used" max="10" value="0" aria-label="Tape used"></progress>
      <span class="time" role="timer" aria-live="off"><span class="elapsed">0.0</span> / <span class="limit">10</span> s</span>
    </div>
  </div>
  <p class="note" role="status" aria-live="polite"></p>
  <div class="take" data-show="recorded posting posted failed">
    <p class="summary"></p>
    <p class="limited" role="status" data-show="recorded" hidden></p>
    <p class="blank" role="status" hidden>Nothing changed on the canvas during this take, so there is nothing to post. Record again while it moves.</p>
    <div class="buttons" data-show="recorded">
      <button type="button" class="post" part="button post">POST</button>
      <button type="button" class="download">Download ZIP</button>
      <button type="button" class="discard">Discard</button>
    </div>
  </div>
  <div class="posting" data-show="posting">
    <p class="step" role="status" aria-live="polite"></p>
    <progress class="upload" max="100" value="0" aria-label="Upload progress"></progress>
    <div class="buttons">
      <button type="button" class="cancel" part="button cancel">Cancel</button>
    </div>
  </div>
  <div class="posted" data-show="posted">
    <p class="title">POSTED! <a class="link" target="_blank" rel="noopener"></a></p>
    <p class="claim" hidden>Posted as a guest. <a class="claim-link" target="_blank" rel="noopener">Keep it: claim on Tapesite</a></p>
    <div class="buttons">
      <button type="button" class="copy">Copy link</button>
      <button type="button" class="again">Record again</button>
    </div>
    <p class="copied" role="status" aria-live="polite"></p>
  </div>
  <div class="failed" data-show="failed">
    <p class="title">POST FAILED</p>
    <p class="reason" role="alert"></p>
    <p class="kept">Your take is kept here: nothing was lost.</p>
    <div class="buttons">
      <button type="button" class="retry" part="button retry">Try again</button>
      <button type="button" class="download">Download ZIP</button>
      <button type="button" class="discard">Discard</button>
    </div>
  </div>
  <div class="confirm" role="alertdialog" aria-label="Discard this take?" hidden>
    <p>Discard this take? It has not been posted; discarded, it is gone for good.</p>
    <div class="buttons">
      <button type="button" class="keep">Keep it</button>
      <button type="button" class="confirm-discard danger">Discard</button>
    </div>
  </div>
</div>
`;

/** What the element says when a post was cancelled (calmly: nothing went wrong). */
export const CANCELLED = "Posting cancelled. Your take is kept here: POST it when you are ready.";

/** Milliseconds as seconds with one decimal ("2.5"). */
export function seconds(ms) {
  return (Math.max(0, ms) / 1000).toFixed(1);
}

/** A ZIP's size for people ("12 KB", "3.4 MB"). */
export function sizeOf(bytes) {
  if (bytes < 1024 * 1024) return `${Math.max(1, Math.round(bytes / 1024))} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** The library's plain sentence for an error's code; its own message for a code it lacks. */
export function reasonOf(error) {
  // The library's own message names the option; the general sentence would not.
  if (error && error.code === "option_invalid" && error.message) return error.message;
  return describe(error) || (error && error.message) || "Something went wrong. Your take is safe here.";
}

/** What the element says when a take ends by itself at its limit. */
export function limitWords(limitSeconds) {
  return `The take reached its ${limitSeconds} s limit and stopped by itself.`;
}
