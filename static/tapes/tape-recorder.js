// <tape-recorder>: Record, Stop and POST for any canvas, on any site, through the tapes library
// (./tapes.js, docs/recorder.md). One custom element with its own shadow DOM and stylesheet
// (./tape-recorder.css), so it looks the same wherever it is put and the page's styles never
// reach inside.
//
//   <canvas id="art" width="192" height="192"></canvas>
//   <tape-recorder for="art" piece="spin" seconds="10"></tape-recorder>
//   <script type="module" src="https://TAPESITE/static/tapes/tape-recorder.js"></script>
//
// Attributes: for (the canvas' id), piece, seconds (the take's limit, at most 60), mode
// ("realtime" | "frames"), fps, blank-colour, site (Tapesite's address; default: where this file
// came from), piece-url, source, seed, stall-seconds (how long a posting request may show no sign
// of life before it fails); state (set by the element: read it, style by it).
// Properties: canvas (a canvas to use instead of `for`), token (a Bearer token to post as a user
// instead of as a guest), take (the library's take while there is one: in "frames" mode the page
// calls take.frame(ms) itself), result, answer, state. Methods: record(), stop(), post(),
// download(), reset(), cancel(). Events (bubbling, composed): tape-start {take}, tape-limit
// {take}, tape-recorded {result}, tape-posted {answer}, tape-failed {error}, tape-cancelled,
// tape-discarded.
// All of it is documented in docs/recorder.md ("The <tape-recorder> element").
//
// A failed post keeps the take: "Try again" calls the library's post() again, which resumes (an
// upload already in storage is only registered again). "Cancel" while posting ends the post and
// goes back to the recorded take, which POST sends again.
import * as Tapes from "./tapes.js";
import {
  CANCELLED,
  STEPS,
  TEMPLATE,
  limitWords,
  reasonOf,
  seconds,
  sizeOf,
} from "./tape-recorder-parts.js";

export class TapeRecorderElement extends HTMLElement {
  static get observedAttributes() {
    return ["seconds"];
  }

  constructor() {
    super();
    this.attachShadow({ mode: "open" });
    this.shadowRoot.innerHTML = TEMPLATE;
    this.deck = this.shadowRoot.querySelector(".deck");
    const sheet = this.shadowRoot.querySelector("link");
    // Shown once its stylesheet is in (or failed to come): never a flash of bare buttons.
    const show = () => {
      this.deck.hidden = false;
    };
    sheet.addEventListener("load", show, { once: true });
    sheet.addEventListener("error", show, { once: true });
    // A page may have set these before this module defined the element (an upgrade): keep them.
    this.canvas = this.canvas ?? null;
    this.token = this.token ?? null;
    this.take = null;
    this.result = null;
    this.answer = null;
    this.onUnload = (event) => {
      if (!this.unposted()) return;
      event.preventDefault();
      event.returnValue = "";
    };
    this.wire();
  }

  connectedCallback() {
    this.showLimit();
    this.setState(this.state);
    window.addEventListener("beforeunload", this.onUnload);
  }

  disconnectedCallback() {
    window.removeEventListener("beforeunload", this.onUnload);
  }

  attributeChangedCallback() {
    this.showLimit();
  }

  get state() {
    return this.deck.dataset.state;
  }

  // --- parts ----------------------------------------------------------------------------------

  $(selector) {
    return this.shadowRoot.querySelector(selector);
  }

  all(selector) {
    return this.shadowRoot.querySelectorAll(selector);
  }

  wire() {
    const on = (selector, handler) => {
      for (const el of this.all(selector)) el.addEventListener("click", handler);
    };
    on(".record", () => this.record());
    on(".stop", () => this.stop());
    on(".post", () => this.post());
    on(".retry", () => this.post());
    on(".cancel", () => this.cancel());
    on(".download", () => this.download());
    on(".discard", () => this.askDiscard());
    on(".keep", () => this.closeConfirm(false));
    on(".confirm-discard", () => this.closeConfirm(true));
    on(".again", () => this.reset());
    on(".copy", () => this.copyLink());
    this.deck.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !this.$(".confirm").hidden) this.closeConfirm(false);
    });
  }

  limitSeconds() {
    const asked = Number(this.getAttribute("seconds"));
    return Number.isFinite(asked) && asked > 0 ? Math.min(asked, 60) : 60;
  }

  showLimit() {
    const limit = this.limitSeconds();
    this.$(".limit").textContent = String(limit);
    this.$(".used").max = limit;
  }

  showTime(ms) {
    this.$(".elapsed").textContent = seconds(ms);
    this.$(".used").value = Math.min(ms / 1000, this.limitSeconds());
  }

  setState(next) {
    this.deck.dataset.state = next;
    this.setAttribute("state", next);
    this.asking(false);
  }

  // A note with a code is a reason something did not happen (it stands out), unless `calm`.
  say(words, code = "", { calm = false } = {}) {
    const note = this.$(".note");
    note.textContent = words;
    note.dataset.code = code;
    note.toggleAttribute("data-calm", calm);
  }

  emit(name, detail) {
    this.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }));
  }

  focusOn(selector) {
    const el = this.$(selector);
    if (el) el.focus();
  }

  unposted() {
    return Boolean(this.take && this.result && !this.result.blank && !this.answer);
  }

  target() {
    if (this.canvas) return this.canvas;
    const id = this.getAttribute("for");
    if (!id) return null;
    const root = this.getRootNode();
    return (root.getElementById && root.getElementById(id)) || document.getElementById(id);
  }

  options() {
    const options = { maxSeconds: this.limitSeconds() };
    const copy = [
      ["mode", "mode"],
      ["piece", "piece"],
      ["site", "site"],
      ["blank-colour", "blankColour"],
      ["piece-url", "pieceUrl"],
      ["source", "source"],
      ["seed", "seed"],
    ];
    for (const [attribute, option] of copy) {
      if (this.hasAttribute(attribute)) options[option] = this.getAttribute(attribute);
    }
    const fps = Number(this.getAttribute("fps"));
    if (this.hasAttribute("fps") && fps > 0) options.maxFps = fps;
    const stall = Number(this.getAttribute("stall-seconds"));
    if (this.hasAttribute("stall-seconds") && stall > 0) options.stallSeconds = stall;
    return options;
  }

  // --- recording ------------------------------------------------------------------------------

  /** Start a take of the canvas. */
  record() {
    if (this.state !== "idle") return;
    const canvas = this.target();
    if (!canvas) {
      const id = this.getAttribute("for");
      this.say(
        id ? `There is no canvas with the id "${id}" on this page.` : "No canvas to record.",
        "no_canvas",
      );
      return;
    }
    let take;
    try {
      take = Tapes.record(canvas, this.options());
    } catch (error) {
      this.say(reasonOf(error), error.code || "record_failed");
      return;
    }
    this.take = take;
    this.result = null;
    this.answer = null;
    this.limited = false;
    take.addEventListener("frame", (event) => {
      if (this.take === take) this.showTime(event.detail.ms);
    });
    take.addEventListener("limit", () => {
      if (this.take !== take) return;
      this.limited = true;
      this.emit("tape-limit", { take });
    });
    // The library stops a take by itself (its limit, a packing worker that failed): follow it.
    take.addEventListener("statechange", () => {
      if (this.take === take && take.state === "packing" && this.state === "recording") this.stop();
    });
    take.addEventListener("progress", (event) => {
      if (this.take === take) this.progress(event.detail);
    });
    this.say("");
    this.showTime(0);
    this.setState("recording");
    this.focusOn(".stop");
    this.emit("tape-start", { take });
  }

  /** Stop the take and pack it; then it can be posted. */
  async stop() {
    if (this.state !== "recording" || !this.take) return;
    const take = this.take;
    this.setState("packing");
    this.say("Packing your take…");
    let result;
    try {
      result = await take.stop();
    } catch (error) {
      if (this.take !== take) return;
      this.take = null;
      this.setState("idle");
      this.say(reasonOf(error), error.code || "pack_failed");
      this.focusOn(".record");
      return;
    }
    if (this.take !== take) return;
    this.result = result;
    this.say("");
    const limited = this.$(".limited");
    limited.textContent = this.limited ? limitWords(this.limitSeconds()) : "";
    limited.hidden = !this.limited;
    this.showTime(result.durationMs);
    this.$(".summary").textContent =
      `Your take: ${seconds(result.durationMs)} s, ${result.frames} frames, ` +
      `${sizeOf(result.bytes ?? result.zip.size)}.`;
    this.$(".blank").hidden = !result.blank;
    this.$(".post").hidden = Boolean(result.blank);
    this.$(".post").disabled = Boolean(result.blank);
    this.deck.dataset.blank = String(Boolean(result.blank));
    this.setState("recorded");
    // A blank take has nothing to keep: its way out is simply to record again.
    this.$(".take .discard").textContent = result.blank ? "Record again" : "Discard";
    this.focusOn(result.blank ? ".take .discard" : ".post");
    this.emit("tape-recorded", { result });
  }

  // --- posting --------------------------------------------------------------------------------

  progress({ step, fraction }) {
    if (this.state !== "posting") return;
    const bar = this.$(".upload");
    if (step === "upload" && typeof fraction === "number") {
      const percent = Math.round(fraction * 100);
      bar.value = percent;
      this.$(".step").textContent = `Uploading… ${percent}%`;
      return;
    }
    if (step === "register") bar.value = 100;
    if (STEPS[step]) this.$(".step").textContent = STEPS[step];
  }

  /** Post the take (or resume a failed post). Resolves to the posting answer, or null. */
  async post() {
    const take = this.take;
    if (!take || !this.result || this.result.blank) return null;
    if (!["recorded", "failed"].includes(this.state)) return null;
    this.say("");
    this.setState("posting");
    this.$(".upload").value = 0;
    this.$(".step").textContent = STEPS.start;
    let answer;
    try {
      answer = await take.post(this.token ? { token: this.token } : {});
    } catch (error) {
      if (this.take !== take) return null;
      if (error.code === "post_cancelled") {
        this.setState("recorded");
        this.say(CANCELLED, error.code, { calm: true });
        this.focusOn(".post");
        this.emit("tape-cancelled", {});
        return null;
      }
      const reason = this.$(".reason");
      reason.textContent = reasonOf(error);
      reason.dataset.code = error.code || "";
      this.setState("failed");
      this.focusOn(".retry");
      this.emit("tape-failed", { error });
      return null;
    }
    if (this.take !== take) return null;
    this.answer = answer;
    const link = this.$(".link");
    link.textContent = `!${answer.code}`;
    link.href = answer.url;
    const claim = this.$(".claim");
    claim.hidden = !answer.claimUrl;
    if (answer.claimUrl) this.$(".claim-link").href = answer.claimUrl;
    this.$(".copied").textContent = "";
    this.setState("posted");
    link.focus();
    this.emit("tape-posted", { answer });
    return answer;
  }

  /** Cancel the post under way: the take goes back to recorded, kept, ready to POST again. */
  cancel() {
    if (this.state !== "posting" || !this.take) return false;
    return this.take.cancel();
  }

  async copyLink() {
    const url = this.$(".link").href;
    let copied = false;
    try {
      await navigator.clipboard.writeText(url);
      copied = true;
    } catch {
      copied = false;
    }
    this.$(".copied").textContent = copied ? "Copied!" : url;
  }

  /** Save the take's ZIP (named after the piece and the take's start, or the posted slug). */
  download() {
    if (!this.take || !this.result) return null;
    return this.take.download();
  }

  // --- throwing a take away -------------------------------------------------------------------

  askDiscard() {
    if (!this.unposted()) {
      this.reset();
      return;
    }
    this.asking(true);
    this.focusOn(".keep");
  }

  // The question stands in for the take's buttons while it is asked.
  asking(open) {
    this.$(".confirm").hidden = !open;
    this.deck.toggleAttribute("data-asking", open);
  }

  closeConfirm(discard) {
    this.asking(false);
    if (discard) {
      this.reset();
    } else {
      this.focusOn(this.state === "failed" ? ".retry" : ".post");
    }
  }

  /** Drop the take (posted or not) and get ready to record again. */
  reset() {
    const take = this.take;
    const wasPosted = Boolean(this.answer);
    this.take = null;
    this.result = null;
    this.answer = null;
    if (take) {
      try {
        take.discard();
      } catch {
        // already gone: nothing left to free
      }
      if (!wasPosted) this.emit("tape-discarded", {});
    }
    this.$(".summary").textContent = "";
    this.say("");
    this.showTime(0);
    this.setState("idle");
    this.focusOn(".record");
  }
}

if (!customElements.get("tape-recorder")) {
  customElements.define("tape-recorder", TapeRecorderElement);
}
